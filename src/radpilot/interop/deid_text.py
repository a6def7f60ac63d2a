"""De-identification of report text: identifiers, names and places replaced by tokens
(``[NAME]``, ``[MRN]``, ``[PHONE]``...), dates shifted by a per-patient offset.

Everything it looks for is data (``interop/data/deid_text.json``): the patterns in the
order they apply (earlier ones win overlaps), the date patterns with their formats, the
titles, a names list, the common or clinical words that are also names (``keep``), and
the eponyms that stay before a clinical word. A name is removed

1. after a title ("Dr. Okafor", "Mr. Parkinson"): any capitalised word, listed or not;
2. when it is a listed name written capitalised, unless it is an eponym before a clinical
   word or possessive ("Parkinson disease", "Kerley B lines", "Crohn's"), or a ``keep``
   word ("Left", "May", "Will") that no other name or title stands beside;
3. beside a name removed by 1 or 2 ("Jane Okafor": the capitalised word after a name);
4. wherever a value the caller knows (``known``: the patient's name parts and ids from
   the DICOM header or HL7 message) appears, whole-word, any case.

Dates move back by the same number of days for every report of one patient: the offset is
an HMAC of the patient key under the run's secret (``DateShifter``), so intervals between
a patient's studies survive, and the offset cannot be recovered without the secret.

Limits (measured by the tests, documented in the README): a name that is in no list, has
no title and is not beside a listed name survives ("seen by Okafor"); a place is found
only by its pattern (a street address, a postcode, "<Name> Hospital"/"St. <Name>"), not by
a gazetteer; a name written in lower case ("dr smith") survives, since "dr. at the bedside"
must keep its "at"; an unlabelled identifier needs 5 digits or more.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from pydantic import Field, field_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel


class TextPattern(DataModel):
    category: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    case_sensitive: bool = False
    format: str | None = Field(None, description="date patterns: how to write the date back")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value


class Eponyms(DataModel):
    names: list[str]
    followed_by: list[str]


class ShiftDays(DataModel):
    min: int = Field(ge=1)
    max: int = Field(le=3650)


_DATE_FORMATS = frozenset(
    {"iso", "us", "eu", "compact", "month_day_year", "day_month_year", "month_year"}
)


class TextRules(DataDocument):
    """``deid_text.json``."""

    tokens: dict[str, str]
    patterns: list[TextPattern]
    titles: list[str]
    names: list[str]
    keep: list[str]
    eponyms: Eponyms
    shift_days: ShiftDays

    @field_validator("patterns")
    @classmethod
    def _categories(cls, value: list[TextPattern]) -> list[TextPattern]:
        for p in value:
            if p.category == "date" and p.format not in _DATE_FORMATS:
                raise ValueError(f"date pattern format must be one of {sorted(_DATE_FORMATS)}")
        return value


DEID_TEXT = DataFile("radpilot.interop", "data/deid_text.json", TextRules)


@dataclass(frozen=True)
class Replacement:
    """One span replaced: where, and what kind (never the value itself)."""

    start: int
    end: int
    category: str


@dataclass(frozen=True)
class DeidText:
    text: str
    replacements: tuple[Replacement, ...]


class DateShifter:
    """Per-patient date offsets under one secret: the same patient key, the same shift."""

    def __init__(self, secret: bytes, *, min_days: int | None = None, max_days: int | None = None):
        rules = DEID_TEXT.load()
        self.secret = secret
        self.min_days = rules.shift_days.min if min_days is None else min_days
        self.max_days = rules.shift_days.max if max_days is None else max_days

    def days(self, patient_key: str) -> int:
        digest = hmac.new(self.secret, patient_key.encode("utf-8"), hashlib.sha256).digest()
        span = self.max_days - self.min_days + 1
        return self.min_days + int.from_bytes(digest[:8], "big") % span

    def shift(self, day: date, patient_key: str) -> date:
        return day - timedelta(days=self.days(patient_key))


@lru_cache(maxsize=1)
def _compiled() -> tuple[TextRules, list[tuple[TextPattern, re.Pattern[str]]]]:
    rules = DEID_TEXT.load()
    out = []
    for p in rules.patterns:
        flags = 0 if p.case_sensitive else re.IGNORECASE
        out.append((p, re.compile(p.regex, flags)))
    return rules, out


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*\.?")


def _render(fmt: str, m: re.Match[str], new: date) -> str:
    y = m.groupdict().get("y") or ""
    year = str(new.year) if len(y) != 2 else f"{new.year % 100:02d}"
    if fmt == "iso":
        return new.isoformat()
    if fmt == "us":
        return f"{new.month}/{new.day}/{year}"
    if fmt == "eu":
        return f"{new.day:02d}.{new.month:02d}.{new.year}"
    if fmt == "compact":
        return new.strftime("%Y%m%d")
    mon = m["mon"]
    names = calendar.month_name if len(mon.rstrip(".")) > 3 else calendar.month_abbr
    month = names[new.month]
    if fmt == "month_day_year":
        return f"{month} {new.day}, {new.year}"
    if fmt == "day_month_year":
        return f"{new.day} {month} {new.year}"
    return f"{month} {new.year}"  # month_year


def _date_of(fmt: str, m: re.Match[str]) -> date:
    parts = m.groupdict()
    y = int(parts["y"])
    if len(parts["y"]) == 2:
        y += 2000 if y <= 40 else 1900
    month = int(parts["m"]) if parts.get("m") else _MONTHS[parts["mon"][:3].lower()]
    day = int(parts["d"]) if parts.get("d") else 15  # a month: shift its middle
    return date(y, month, day)


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def _pattern_spans(
    text: str, patient_key: str, shifter: DateShifter
) -> list[tuple[int, int, str, str]]:
    rules, compiled = _compiled()
    spans: list[tuple[int, int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for spec, rx in compiled:
        for m in rx.finditer(text):
            if not _free(taken, m.start(), m.end()):
                continue
            if spec.category == "date":
                assert spec.format is not None
                try:
                    new = _render(
                        spec.format, m, shifter.shift(_date_of(spec.format, m), patient_key)
                    )
                except (ValueError, KeyError, OverflowError):
                    new = rules.tokens.get("date", "[DATE]")
            else:
                new = rules.tokens.get(spec.category, f"[{spec.category.upper()}]")
            spans.append((m.start(), m.end(), spec.category, new))
            taken.append((m.start(), m.end()))
    return spans


def _words(text: str, taken: list[tuple[int, int]]) -> list[re.Match[str]]:
    return [w for w in _WORD.finditer(text) if _free(taken, w.start(), w.end())]


def _bare(word: str) -> str:
    return re.sub(r"['\u2019]s$", "", word.rstrip(".")).lower()


def _name_spans(
    text: str, taken: list[tuple[int, int]], known: frozenset[str]
) -> list[tuple[int, int]]:
    rules, _ = _compiled()
    titles = {t.lower() for t in rules.titles}
    names = {n.lower() for n in rules.names}
    keep = {k.lower() for k in rules.keep}
    eponyms = {e.lower() for e in rules.eponyms.names}
    clinical_next = {f.lower() for f in rules.eponyms.followed_by}
    words = _words(text, taken)
    is_name = [False] * len(words)
    for i, w in enumerate(words):
        token = w.group().rstrip(".")
        bare = _bare(token)
        capital = token[:1].isupper()
        after_title = i > 0 and words[i - 1].group().lower() in titles and capital
        if bare in known:
            is_name[i] = True
        elif after_title and bare not in titles:
            is_name[i] = True
        elif capital and bare in names and bare not in keep:
            nxt = _bare(words[i + 1].group()) if i + 1 < len(words) else ""
            possessive = token.lower().endswith(("'s", "\u2019s"))
            if not (bare in eponyms and (possessive or nxt in clinical_next)):
                is_name[i] = True
    for _ in range(2):  # beside a name: a listed or keep word, or any capitalised word after one
        for i, w in enumerate(words):
            if is_name[i] or not w.group()[:1].isupper() or _bare(w.group()) in titles:
                continue
            prev_name = i > 0 and is_name[i - 1] and _adjacent(text, words[i - 1], w)
            next_name = i + 1 < len(words) and is_name[i + 1] and _adjacent(text, w, words[i + 1])
            bare = _bare(w.group())
            if (prev_name and bare not in keep) or ((prev_name or next_name) and bare in names):
                is_name[i] = True
    return [
        (w.start(), w.start() + len(w.group().rstrip(".")))
        for w, n in zip(words, is_name, strict=True)
        if n
    ]


def _adjacent(text: str, a: re.Match[str], b: re.Match[str]) -> bool:
    return text[a.end() : b.start()] in (" ", ", ") and not a.group().endswith(".")


def deidentify_text(
    text: str,
    *,
    patient_key: str,
    shifter: DateShifter,
    known: tuple[str, ...] = (),
) -> DeidText:
    """``text`` with identifiers, names and places replaced and dates shifted for
    ``patient_key``. ``known``: values to remove wherever they appear (name parts, ids)."""
    rules, _ = _compiled()
    spans = _pattern_spans(text, patient_key, shifter)
    taken = [(s, e) for s, e, _, _ in spans]
    known_words = frozenset(
        part.lower() for value in known for part in re.split(r"[\s^,]+", value) if len(part) > 1
    )
    for value in known:  # whole identifiers first (an MRN with no label in front)
        if len(value.strip()) < 2:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(value.strip())}(?!\w)", text, re.IGNORECASE):
            if _free(taken, m.start(), m.end()):
                spans.append((m.start(), m.end(), "id", rules.tokens.get("id", "[ID]")))
                taken.append((m.start(), m.end()))
    for s, e in _name_spans(text, taken, known_words):
        spans.append((s, e, "name", rules.tokens.get("name", "[NAME]")))
    spans.sort()
    out: list[str] = []
    pos = 0
    replaced: list[Replacement] = []
    for s, e, category, new in spans:
        out.append(text[pos:s])
        replaced.append(Replacement(sum(map(len, out)), sum(map(len, out)) + len(new), category))
        out.append(new)
        pos = e
    out.append(text[pos:])
    return DeidText("".join(out), tuple(replaced))

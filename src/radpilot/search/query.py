"""The search query language.

    new left pneumothorax since:2024-01-01 -effusion

Grammar (whitespace separated; ``"double quotes"`` group words into one term)::

    query   := term*
    term    := FINDING            present or uncertain (uncertain ranked below, marked)
             | +FINDING | present:FINDING   present only (uncertain left out)
             | uncertain:FINDING  only where the reader marked it uncertain
             | absent:FINDING     only where the report explicitly negates it
             | -FINDING           excluded: no report where it is present or uncertain
                                  (reports that negate it or never mention it stay)
             | -WORD              excluded: no report containing the word (full text)
             | MODIFIER           left/right/bilateral, new/worse/better/stable/resolved:
                                  constrains the next finding (or the last one)
             | side:VALUE | change:VALUE | loc:TEXT   the same, explicitly
             | since:DATE | until:DATE   study date, inclusive (YYYY, YYYY-MM or YYYY-MM-DD)
             | patient:ID | modality:CODE | body:PART
             | WORD | "PHRASE"     full-text (BM25) words
    FINDING := words that the report reader's vocabulary maps to a finding id
               (longest synonym first: "pleural effusion" before "effusion")
"""

from __future__ import annotations

import calendar
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from radpilot.errors import InputError
from radpilot.reports.models import Change, Laterality
from radpilot.search.config import query_words

Lookup = Callable[[str], str | None]
MAX_SYNONYM_WORDS = 6


class Polarity(StrEnum):
    ANY = "any"  # present or uncertain
    PRESENT = "present"
    UNCERTAIN = "uncertain"
    ABSENT = "absent"
    EXCLUDE = "exclude"


KEYS = (
    "present",
    "uncertain",
    "absent",
    "side",
    "change",
    "loc",
    "since",
    "until",
    "patient",
    "modality",
    "body",
)
_KEY_RE = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)


@dataclass(frozen=True, slots=True)
class FindingTerm:
    finding: str
    polarity: Polarity = Polarity.ANY
    laterality: Laterality | None = None
    change: Change | None = None
    location: str | None = None
    text: str = ""  # the words as written, for messages and lexical scoring


@dataclass(frozen=True, slots=True)
class Query:
    findings: tuple[FindingTerm, ...] = ()
    words: tuple[str, ...] = ()  # lexical words and phrases (phrases keep their spaces)
    excluded_words: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    patient: str | None = None
    modality: str | None = None
    body_part: str | None = None
    raw: str = field(default="", compare=False)

    @property
    def is_empty(self) -> bool:
        return not (
            self.findings
            or self.words
            or self.excluded_words
            or self.since
            or self.until
            or self.patient
            or self.modality
            or self.body_part
        )

    def to_string(self) -> str:
        """A canonical query string that parses back to an equal Query."""
        out: list[str] = []
        for t in self.findings:
            if t.laterality:
                out.append(f"side:{t.laterality.value}")
            if t.change:
                out.append(f"change:{t.change.value}")
            if t.location:
                out.append(_quote(f"loc:{t.location}"))
            prefix = {
                Polarity.ANY: "",
                Polarity.PRESENT: "present:",
                Polarity.UNCERTAIN: "uncertain:",
                Polarity.ABSENT: "absent:",
                Polarity.EXCLUDE: "-",
            }[t.polarity]
            out.append(prefix + _quote(t.text or t.finding))
        out.extend(_quote(w) for w in self.words)
        out.extend("-" + _quote(w) for w in self.excluded_words)
        for key, val in (
            ("since", self.since),
            ("until", self.until),
            ("patient", self.patient),
            ("modality", self.modality),
            ("body", self.body_part),
        ):
            if val is not None:
                out.append(_quote(f"{key}:{val}"))
        return " ".join(out)


def _quote(s: str) -> str:
    return shlex.quote(s) if re.search(r"[\s\"'\\]", s) or not s else s


def parse_date(value: str, *, end: bool = False, key: str = "since") -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD to an ISO date (the period's last day when ``end``)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip())
    if m:
        y = int(m[1])
        mo = int(m[2]) if m[2] else (12 if end else 1)
        try:
            last = calendar.monthrange(y, mo)[1] if 1 <= mo <= 12 else 0
            d = int(m[3]) if m[3] else (last if end else 1)
            if 1 <= mo <= 12 and 1 <= d <= last:
                return f"{y:04d}-{mo:02d}-{d:02d}"
        except calendar.IllegalMonthError:
            pass
    raise InputError(f"query: {key}:{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")


def _tokens(text: str) -> list[str]:
    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    lex.escape = ""  # backslashes are literal: reports and ids may contain them
    try:
        return list(lex)
    except ValueError as exc:
        raise InputError(f"query: {exc} (close the double quote)") from None


@dataclass(slots=True)
class _Pending:
    """Modifiers waiting for the finding they constrain."""

    laterality: Laterality | None = None
    change: Change | None = None
    location: str | None = None
    words: list[str] = field(default_factory=list)  # as written, if no finding takes them
    explicit: bool = False  # came from side:/change:/loc:, so a finding is required

    def __bool__(self) -> bool:
        return bool(self.laterality or self.change or self.location)


def parse_query(text: str, lookup: Lookup | None = None) -> Query:
    """Parse a query string; raise InputError (one line) on a malformed one."""
    if lookup is None:
        from radpilot.search.vocab import lookup as default_lookup

        lookup = default_lookup
    qw = query_words()
    findings: list[FindingTerm] = []
    words: list[str] = []
    excluded: list[str] = []
    meta: dict[str, str] = {}
    pending = _Pending()
    plain: list[str] = []  # a run of plain words, resolved into findings/words at its end

    def flush_plain() -> None:
        i = 0
        while i < len(plain):
            for n in range(min(MAX_SYNONYM_WORDS, len(plain) - i), 0, -1):
                phrase = " ".join(plain[i : i + n])
                fid = lookup(phrase)
                if fid is not None:
                    add_finding(fid, Polarity.ANY, phrase)
                    i += n
                    break
            else:
                w = plain[i]
                low = w.lower()
                if low in qw.laterality and pending.laterality is None:
                    pending.laterality = qw.laterality[low]
                    pending.words.append(w)
                elif low in qw.change and pending.change is None:
                    pending.change = qw.change[low]
                    pending.words.append(w)
                elif low not in qw.stopwords:
                    words.append(w)
                i += 1
        plain.clear()

    def add_finding(fid: str, pol: Polarity, written: str) -> None:
        nonlocal pending
        findings.append(
            FindingTerm(fid, pol, pending.laterality, pending.change, pending.location, written)
        )
        pending = _Pending()

    def finding_of(value: str, key: str) -> str:
        fid = lookup(value)
        if fid is None:
            raise InputError(
                f"query: {key}{value!r}: not a finding the reader knows "
                "(try its plain name, e.g. 'pleural effusion')"
            )
        return fid

    for tok in _tokens(text):
        if not tok.strip():
            continue
        m = _KEY_RE.match(tok)
        if m and not tok.startswith(("-", "+")):
            flush_plain()
            key, value = m[1].lower(), m[2].strip()
            if key not in KEYS:
                raise InputError(
                    f"query: unknown filter {key + ':'!r}; valid: {', '.join(k + ':' for k in KEYS)}"
                )
            if not value:
                raise InputError(f"query: {key}: needs a value (e.g. {key}:VALUE)")
            if key in ("present", "uncertain", "absent"):
                add_finding(finding_of(value, key + ":"), Polarity(key), value)
            elif key == "side":
                lat = qw.laterality.get(value.lower())
                if lat is None:
                    raise InputError(
                        f"query: side:{value!r}; valid: {', '.join(x.value for x in Laterality)}"
                    )
                pending.laterality, pending.explicit = lat, True
            elif key == "change":
                chg = qw.change.get(value.lower())
                if chg is None:
                    raise InputError(
                        f"query: change:{value!r}; valid: {', '.join(x.value for x in Change)}"
                    )
                pending.change, pending.explicit = chg, True
            elif key == "loc":
                pending.location, pending.explicit = value.lower(), True
            elif key in ("since", "until"):
                meta[key] = parse_date(value, end=key == "until", key=key)
            else:
                meta[key] = value.upper() if key in ("modality", "body") else value
        elif tok[0] in "-+" and len(tok.strip()) > 1:
            flush_plain()
            value = tok[1:].strip()
            fid = lookup(value)
            if tok[0] == "+":
                add_finding(finding_of(value, "+"), Polarity.PRESENT, value)
            elif fid is not None:
                add_finding(fid, Polarity.EXCLUDE, value)
            else:
                excluded.append(value)
        elif " " in tok.strip():
            flush_plain()  # a quoted phrase: a finding if the vocabulary knows it, else lexical
            phrase = " ".join(tok.split())
            fid = lookup(phrase)
            if fid is not None:
                add_finding(fid, Polarity.ANY, phrase)
            else:
                words.append(phrase)
        else:
            plain.append(tok.strip())
    flush_plain()
    if pending:
        # Modifiers after the finding ("pneumothorax left") constrain the last positive one.
        target = next(
            (
                i
                for i in range(len(findings) - 1, -1, -1)
                if findings[i].polarity is not Polarity.EXCLUDE
            ),
            None,
        )
        if target is not None:
            t = findings[target]
            findings[target] = replace(
                t,
                laterality=t.laterality or pending.laterality,
                change=t.change or pending.change,
                location=t.location or pending.location,
            )
        elif pending.explicit:
            raise InputError(
                "query: side:, change: and loc: constrain a finding; name one "
                "(e.g. 'side:left pneumothorax')"
            )
        else:
            words.extend(pending.words)
    return Query(
        findings=tuple(findings),
        words=tuple(words),
        excluded_words=tuple(excluded),
        since=meta.get("since"),
        until=meta.get("until"),
        patient=meta.get("patient"),
        modality=meta.get("modality"),
        body_part=meta.get("body"),
        raw=text,
    )

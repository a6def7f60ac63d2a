"""The search query language.

    new left pneumothorax since:2024-01-01 -effusion

Grammar (whitespace separated; ``"double quotes"`` group words into one term, ``\\"``
inside them is a literal quote; an apostrophe is a letter, as in "Morgagni's hernia")::

    query   := term*
    term    := FINDING            present or uncertain (uncertain ranked below, marked)
             | +FINDING | present:FINDING   present only (uncertain left out)
             | uncertain:FINDING  only where the reader marked it uncertain
             | absent:FINDING     only where the report explicitly negates it
             | -FINDING           excluded: no report where it is present or uncertain
                                  (reports that negate it or never mention it stay)
             | -WORD              excluded: no report containing the word (full text)
             | MODIFIER           a side ("left", "right lung", "bilateral" and the other
                                  phrases of the reader's modifiers.json) or a change
                                  (new/worse/better/stable/resolved): constrains the next
                                  finding (or the last one); a side that is also a place
                                  ("bibasilar") stays a free word as well
             | side:VALUE | change:VALUE | loc:TEXT   the same, explicitly
             | since:DATE | until:DATE   study date, inclusive (YYYY, YYYY-MM or YYYY-MM-DD)
             | patient:ID | modality:CODE | body:PART
             | WORD | "PHRASE"     full-text words (a word stated in a negated sentence
                                  does not count)
    FINDING := words that the report reader's vocabulary maps to a finding id
               (longest synonym first: "pleural effusion" before "effusion")

A term with no letter or digit ("???", "-", "(*)") is ignored and listed in
``Query.ignored``; a query of nothing else is empty.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from radpilot.errors import InputError
from radpilot.reports.models import Change, Laterality
from radpilot.reports.vocabulary import normalize_term
from radpilot.search.config import QueryWords, query_words

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
# A lone UTF-16 surrogate is no character: it reaches a query from argv bytes that were not
# UTF-8 (Python's surrogateescape) or from a JSON "\ud800" escape, and no database driver can
# encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_WORD = re.compile(r"\w")
_PREFIX = {
    Polarity.ANY: "",
    Polarity.PRESENT: "present:",
    Polarity.UNCERTAIN: "uncertain:",
    Polarity.ABSENT: "absent:",
    Polarity.EXCLUDE: "-",
}


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
    ignored: tuple[str, ...] = field(default=(), compare=False)  # terms with no letter/digit

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
                out.append(quote_term(f"loc:{t.location}"))
            out.append(_PREFIX[t.polarity] + quote_term(t.text or t.finding))
        out.extend(quote_term(w) for w in self.words)
        out.extend("-" + quote_term(w) for w in self.excluded_words)
        for key, val in (
            ("since", self.since),
            ("until", self.until),
            ("patient", self.patient),
            ("modality", self.modality),
            ("body", self.body_part),
        ):
            if val is not None:
                out.append(quote_term(f"{key}:{val}"))
        return " ".join(out)


def quote_term(s: str) -> str:
    """``s`` as one query term (double-quoted when it holds spaces or quotes)."""
    if s and not re.search(r'[\s"]', s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_date(value: str, *, end: bool = False, key: str = "since") -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD to an ISO date (the period's last day when ``end``)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip())
    if m:
        y = int(m[1])
        mo = int(m[2]) if m[2] else (12 if end else 1)
        try:
            last = calendar.monthrange(y, mo)[1] if 1 <= mo <= 12 else 0
        except ValueError:  # year 0: no calendar has it
            last = 0
        d = int(m[3]) if m[3] else (last if end else 1)
        if 1 <= d <= last:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    raise InputError(f"query: {key}:{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")


def tokens(text: str) -> list[str]:
    """Whitespace-separated terms; double quotes group (and are removed), ``\\"`` and
    ``\\\\`` inside them are a literal quote and backslash; every other character, the
    apostrophe and backslashes outside quotes included, is literal.

    >>> tokens('''Morgagni's hernia loc:"upper lobe" "say \\\\"hi\\\\""''')
    ["Morgagni's", 'hernia', 'loc:upper lobe', 'say "hi"']
    """
    out: list[str] = []
    cur: list[str] = []
    quoted = started = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\" and text[i + 1 : i + 2] in ('"', "\\"):
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            quoted, started = not quoted, True
        elif ch.isspace() and not quoted:
            if started:
                out.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(ch)
            started = True
        i += 1
    if quoted:
        raise InputError("query: a double quote is not closed (close it, or leave it out)")
    if started:
        out.append("".join(cur))
    return out


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


class _Parser:
    """One query's parse: terms in, a ``Query`` out (``parse_query`` is the entry)."""

    def __init__(self, text: str, lookup: Lookup, qw: QueryWords) -> None:
        self.text, self.lookup, self.qw = text, lookup, qw
        self.findings: list[FindingTerm] = []
        self.words: list[str] = []
        self.excluded: list[str] = []
        self.ignored: list[str] = []
        self.meta: dict[str, str] = {}
        self.pending = _Pending()
        self.plain: list[str] = []  # a run of plain words, resolved at its end

    def find(self, phrase: str) -> str | None:
        """The finding a phrase names; a possessive "'s" does not change it."""
        fid = self.lookup(phrase)
        if fid is None and "'" in phrase:
            fid = self.lookup(re.sub(r"['’]s\b", "", phrase))
        return fid

    def parse(self) -> Query:
        for tok in tokens(self.text):
            self.term(tok)
        self.flush_plain()
        self.attach_trailing_modifiers()
        return Query(
            findings=tuple(self.findings),
            words=tuple(self.words),
            excluded_words=tuple(self.excluded),
            since=self.meta.get("since"),
            until=self.meta.get("until"),
            patient=self.meta.get("patient"),
            modality=self.meta.get("modality"),
            body_part=self.meta.get("body"),
            raw=self.text,
            ignored=tuple(self.ignored),
        )

    def term(self, tok: str) -> None:
        tok = tok.strip()
        if not tok:
            return
        m = _KEY_RE.match(tok)
        if m and not tok.startswith(("-", "+")):
            self.flush_plain()
            self.keyed(m[1].lower(), m[2].strip())
        elif not _WORD.search(tok):
            self.ignored.append(tok)
        elif tok[0] in "-+":
            self.flush_plain()
            self.signed(tok[0], tok[1:].strip())
        elif " " in tok:
            self.flush_plain()  # a quoted phrase: a finding if the vocabulary knows it
            phrase = " ".join(tok.split())
            fid = self.find(phrase)
            if fid is not None:
                self.add_finding(fid, Polarity.ANY, phrase)
            else:
                self.words.append(phrase)
        else:
            self.plain.append(tok)

    def signed(self, sign: str, value: str) -> None:
        fid = self.find(value)
        if sign == "+":
            self.add_finding(self.finding_of(value, "+"), Polarity.PRESENT, value)
        elif fid is not None:
            self.add_finding(fid, Polarity.EXCLUDE, value)
        else:
            self.excluded.append(value)

    def keyed(self, key: str, value: str) -> None:
        if key not in KEYS:
            raise InputError(
                f"query: unknown filter {key + ':'!r}; valid: {', '.join(k + ':' for k in KEYS)}"
            )
        if not value:
            raise InputError(f"query: {key}: needs a value (e.g. {key}:VALUE)")
        if key in ("present", "uncertain", "absent"):
            self.add_finding(self.finding_of(value, key + ":"), Polarity(key), value)
        elif key == "side":
            lat = self.qw.laterality.get(normalize_term(value))
            if lat is None:
                valid = ", ".join(x.value for x in Laterality)
                raise InputError(f"query: side:{value!r}; valid: {valid}")
            self.pending.laterality, self.pending.explicit = lat, True
        elif key == "change":
            chg = self.qw.change.get(value.lower())
            if chg is None:
                valid = ", ".join(x.value for x in Change)
                raise InputError(f"query: change:{value!r}; valid: {valid}")
            self.pending.change, self.pending.explicit = chg, True
        elif key == "loc":
            self.pending.location, self.pending.explicit = value.lower(), True
        elif key in ("since", "until"):
            self.meta[key] = parse_date(value, end=key == "until", key=key)
        else:
            self.meta[key] = value.upper() if key in ("modality", "body") else value

    def finding_of(self, value: str, key: str) -> str:
        fid = self.find(value)
        if fid is None:
            raise InputError(
                f"query: {key}{value!r}: not a finding the reader knows "
                "(try its plain name, e.g. 'pleural effusion')"
            )
        return fid

    def add_finding(self, fid: str, pol: Polarity, written: str) -> None:
        p = self.pending
        side = p.laterality or self.side_in(written)
        self.findings.append(FindingTerm(fid, pol, side, p.change, p.location, written))
        self.pending = _Pending()

    def side_in(self, phrase: str) -> Laterality | None:
        """A side written inside a finding's own synonym ("elevated right hemidiaphragm"):
        the reader gives such a mention that side, so the query asks for it too."""
        words = phrase.split()
        if len(words) < 2:
            return None
        for n in range(min(self.qw.longest_laterality, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                lat = self.qw.laterality.get(normalize_term(" ".join(words[i : i + n])))
                if lat is not None:
                    return lat
        return None

    def flush_plain(self) -> None:
        """Resolve a run of plain words: findings (longest synonym first), then side and
        change modifiers, then free words (stopwords dropped)."""
        plain, i = self.plain, 0
        while i < len(plain):
            n = self.finding_at(i)
            if n:
                i += n
                continue
            n = self.side_at(i)
            if n:
                i += n
                continue
            w = plain[i]
            low = w.lower()
            if low in self.qw.change and self.pending.change is None:
                self.pending.change = self.qw.change[low]
                self.pending.words.append(w)
            elif low not in self.qw.stopwords:
                self.words.append(w)
            i += 1
        plain.clear()

    def finding_at(self, i: int, *, take: bool = True) -> int:
        """Words of the longest finding phrase starting at plain word ``i`` (0: none)."""
        plain = self.plain
        for n in range(min(MAX_SYNONYM_WORDS, len(plain) - i), 0, -1):
            phrase = " ".join(plain[i : i + n])
            fid = self.find(phrase)
            if fid is not None:
                if take:
                    self.add_finding(fid, Polarity.ANY, phrase)
                return n
        return 0

    def side_at(self, i: int) -> int:
        """Words of the longest side phrase at ``i`` ("right lung", "left"), taken as the
        pending laterality; a phrase gives way to a finding that starts inside it ("left
        lung opacity" is left + lung opacity, not left lung + opacity)."""
        if self.pending.laterality is not None:
            return 0
        plain = self.plain
        for n in range(min(self.qw.longest_laterality, len(plain) - i), 0, -1):
            lat = self.qw.laterality.get(normalize_term(" ".join(plain[i : i + n])))
            if lat is None or any(self.finding_at(j, take=False) for j in range(i + 1, i + n)):
                continue
            self.pending.laterality = lat
            if normalize_term(" ".join(plain[i : i + n])) in self.qw.each_side_words:
                # "bibasilar" is both sides and a place, the bases: the word stays a free
                # word too, so the mentions at the bases rank first (``near_evidence``).
                self.words.extend(plain[i : i + n])
            else:
                self.pending.words.extend(plain[i : i + n])
            return n
        return 0

    def attach_trailing_modifiers(self) -> None:
        """Modifiers after the finding ("pneumothorax left") constrain the last positive one."""
        pending = self.pending
        if not pending:
            return
        target = next(
            (
                i
                for i in range(len(self.findings) - 1, -1, -1)
                if self.findings[i].polarity is not Polarity.EXCLUDE
            ),
            None,
        )
        if target is not None:
            t = self.findings[target]
            self.findings[target] = FindingTerm(
                t.finding,
                t.polarity,
                t.laterality or pending.laterality,
                t.change or pending.change,
                t.location or pending.location,
                t.text,
            )
        elif pending.explicit:
            raise InputError(
                "query: side:, change: and loc: constrain a finding; name one "
                "(e.g. 'side:left pneumothorax')"
            )
        else:
            self.words.extend(pending.words)


def check_text(text: str, what: str = "query") -> None:
    """``InputError`` (one line, naming the position, never the text) when ``text`` holds
    a lone surrogate, which no archive backend can encode."""
    m = _SURROGATE.search(text)
    if m is not None:
        raise InputError(
            f"{what}: character {m.start() + 1} is a lone surrogate (U+{ord(m[0]):04X}), "
            "not text: the query was not valid UTF-8; type it again or remove that character"
        )


def parse_query(text: str, lookup: Lookup | None = None) -> Query:
    """Parse a query string; raise InputError (one line) on a malformed one.

    >>> q = parse_query("pneumothorax ??? O'Brien")
    >>> [t.finding for t in q.findings], q.words, q.ignored
    (['pneumothorax'], ("O'Brien",), ('???',))
    """
    check_text(text)
    if lookup is None:
        from radpilot.search.vocab import lookup as default_lookup

        lookup = default_lookup
    return _Parser(text, lookup, query_words()).parse()

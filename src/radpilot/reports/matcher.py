"""One compiled pattern for every phrase the reader knows: finding terms, anchors,
qualifiers, ConText cues, laterality, locations and severity words.

The phrases are folded into a character trie and emitted as a single regular expression,
so that scanning a report costs one pass whatever the vocabulary size (a flat alternation
of thousands of phrases would try each one at every position). At each position the
longest phrase wins; a phrase may carry several roles (``"stable"`` is a change cue and a
terminator).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from radpilot.reports.regexcache import compile_cached
from radpilot.reports.rules import CueCategory, Direction, Modifiers, cue_rules, modifiers
from radpilot.reports.vocabulary import (
    FindingRole,
    Vocabulary,
    load_vocabulary,
    normalize_term,
    plural_variants,
)

_SEP = " "  # one normalized space stands for any run of spaces, tabs, newlines or hyphens


@dataclass(slots=True, init=False)
class Roles:
    """Everything one phrase means to the reader."""

    finding: str | None = None
    anchor_of: tuple[str, ...] = ()
    qualifies: tuple[str, ...] = ()
    uncertain_for: tuple[str, ...] = ()  # findings this qualifier names only as uncertain
    normal_for: tuple[str, ...] = ()  # findings whose anchors this word says are normal
    cues: tuple[tuple[CueCategory, Direction], ...] = ()
    laterality: str | None = None
    location: str | None = None
    severity: str | None = None
    terminator: bool = False
    # Where a finding term itself says where: "apical pleural thickening" -> apical.
    term_locations: tuple[str, ...] = ()
    term_laterality: str | None = None
    historical_term: bool = False  # the term names an old finding ("healed fracture")
    # the term names a diagnosis or an etiology (findings.json role), not what is seen: a
    # comma list of them before "or" is a list of alternatives ("atelectasis, aspiration or
    # pneumonia"), an observation before it is what they explain ("opacity, X or Y")
    inferred: bool = False

    def __init__(
        self,
        finding: str | None = None,
        anchor_of: tuple[str, ...] = (),
        qualifies: tuple[str, ...] = (),
        uncertain_for: tuple[str, ...] = (),
        normal_for: tuple[str, ...] = (),
        cues: tuple[tuple[CueCategory, Direction], ...] = (),
        laterality: str | None = None,
        location: str | None = None,
        severity: str | None = None,
        terminator: bool = False,
        term_locations: tuple[str, ...] = (),
        term_laterality: str | None = None,
        historical_term: bool = False,
        inferred: bool = False,
    ) -> None:
        self.finding = finding
        self.anchor_of = anchor_of
        self.qualifies = qualifies
        self.uncertain_for = uncertain_for
        self.normal_for = normal_for
        self.cues = cues
        self.laterality = laterality
        self.location = location
        self.severity = severity
        self.terminator = terminator
        self.term_locations = term_locations
        self.term_laterality = term_laterality
        self.historical_term = historical_term
        self.inferred = inferred

    def add_cue(self, category: CueCategory, direction: Direction) -> None:
        if (category, direction) not in self.cues:
            self.cues = (*self.cues, (category, direction))
        if category is CueCategory.TERMINATOR:
            self.terminator = True


class Token(NamedTuple):
    """One phrase found in a text: its span, normalized key and roles. A named tuple: a
    report has dozens, and a tuple is built in C."""

    start: int
    end: int
    key: str
    roles: Roles


# A matched phrase as written ("Pleural  effusion", "no\nacute") -> its normalized key and
# roles, or None when it names nothing. Bounded: whitespace variants are unbounded in theory.
_MAX_SEEN = 50_000


@dataclass(slots=True)
class Lexicon:
    pattern: re.Pattern[str]
    roles: dict[str, Roles] = field(default_factory=dict)
    _ci: re.Pattern[str] | None = None
    seen: dict[str, tuple[str, Roles] | None] = field(default_factory=dict)
    memo: Any = None  # the reader's sentence memo (radpilot.reports.sentencememo)
    section_memo: Any = None  # and its section memo (radpilot.reports.sectionmemo)
    # a respelled phrase -> the phrase it respells ("favoured" -> "favored"): the key the rest
    # of the reader knows it by (hedge kinds, cue names) is the one spelling in the data files
    respelled_from: dict[str, str] = field(default_factory=dict)
    identity: str = ""  # what the pattern is compiled from (radpilot.reports.regexcache)

    @property
    def pattern_ci(self) -> re.Pattern[str]:
        """The same pattern, case-insensitive: compiled on first use (a text whose length
        changes when lowered is rare, and compiling costs a third of a second)."""
        if self._ci is None:
            source = self.pattern.pattern
            if self.identity:
                self._ci = compile_cached(self.identity, lambda: source, re.IGNORECASE)
            else:
                self._ci = re.compile(source, re.IGNORECASE)
        return self._ci

    def key_of(self, matched: str) -> tuple[str, Roles] | None:
        """The normalized key and roles of a matched phrase (None: it names nothing)."""
        try:
            return self.seen[matched]
        except KeyError:
            pass
        key = _NORM.sub(" ", matched.lower())
        r = self.roles.get(key)
        hit = None if r is None else (self.respelled_from.get(key, key), r)
        if len(self.seen) >= _MAX_SEEN:
            self.seen.clear()
        self.seen[matched] = hit
        return hit


def trie_regex(keys: list[str]) -> str:
    """One regular expression matching any of ``keys`` (normalized phrases), longest first."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        end = "" in node
        branches = []
        for ch in sorted(k for k in node if k):
            atom = r"[\s\-]+" if ch == _SEP else re.escape(ch)
            branches.append(atom + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return f"(?:{body})?"
        return body

    return emit(trie)


def respelled(key: str, spellings: Mapping[str, str]) -> str:
    """A phrase with every American fragment spelled the British way ("pulmonary edema" ->
    "pulmonary oedema"); the phrase itself where it holds none."""
    for us, uk in spellings.items():
        if us in key and uk not in key:
            key = key.replace(us, uk)
    return key


def _add_spellings(roles: dict[str, Roles], spellings: Mapping[str, str]) -> dict[str, str]:
    """Each phrase spelled the other way means what the phrase means (UK and Australian
    reports write "oedema", "favoured", "visualised"); a spelling another phrase already owns
    keeps its own meaning. Returns respelled phrase -> the phrase it respells."""
    origin: dict[str, str] = {}
    for key, r in list(roles.items()):
        other = respelled(key, spellings)
        if other != key and other not in roles:
            roles[other] = r
            origin[other] = key
    return origin


def _split_variants(key: str, prefixes: tuple[str, ...]) -> list[str]:
    """A finding term written apart after a prefix, as dictation does ("pneumo thorax",
    "cardio megaly"); the prefix must leave a word of at least four letters."""
    out: list[str] = []
    words = key.split(" ")
    for i, w in enumerate(words):
        for p in prefixes:
            if w.startswith(p) and len(w) - len(p) >= 4 and w[len(p)].isalpha():
                out.append(" ".join((*words[:i], p, w[len(p) :], *words[i + 1 :])))
    return out


def _misheard_variants(key: str, misheard: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A phrase with one word written as voice recognition mishears it ("no numo thorax",
    "plural thickening")."""
    words = key.split(" ")
    return [
        " ".join((*words[:i], heard, *words[i + 1 :]))
        for i, w in enumerate(words)
        for heard in misheard.get(w, ())
    ]


def _add_variants(
    roles: dict[str, Roles], variants: Callable[[str], list[str]], *, anchors: bool = False
) -> None:
    """Each variant of a finding term (and, with ``anchors``, of an anchor) names what the
    phrase names, unless another phrase already owns that spelling: a term split after a
    dictated prefix (``modifiers.json`` splits), a word misheard by voice recognition
    (``misheard``)."""
    for key, r in list(roles.items()):
        if r.finding is None and not (anchors and r.anchor_of):
            continue
        for variant in variants(key):
            roles.setdefault(variant, r)


def _add_term_places(roles: dict[str, Roles], mods: Modifiers) -> None:
    """Where a finding term itself says where and on which side ("apical pleural
    thickening", "right lower lobe pneumonia"): its longest place and side words."""
    for key, r in roles.items():
        if r.finding is None or " " not in key:
            continue
        words = key.split(" ")
        locs: list[str] = []
        grams: list[str] = []  # the place words matched, longest first
        for n in (3, 2, 1):
            for i in range(len(words) - n + 1):
                gram = " ".join(words[i : i + n])
                place = mods.locations.get(gram)
                # a word inside a longer place already read is that place's ("aortic"
                # in "calcified aortic valve" names the valve, not the aorta)
                inside = any(gram in x for x in (*locs, *grams))
                if place is not None and place not in locs and not inside:
                    locs.append(place)
                    grams.append(gram)
                if r.term_laterality is None and gram in mods.laterality:
                    r.term_laterality = mods.laterality[gram]
        r.term_locations = tuple(locs)


def build_lexicon(vocab: Vocabulary) -> Lexicon:
    roles: dict[str, Roles] = {}

    def at(key: str) -> Roles:
        r = roles.get(key)
        if r is None:
            r = roles[key] = Roles()
        return r

    # Explicit terms first; generated plurals never take a phrase another finding owns.
    for key, fid in vocab.terms.items():
        at(key).finding = fid
    for key, fid in list(vocab.terms.items()):
        for variant in plural_variants(key)[1:]:
            if variant not in vocab.terms and roles.get(variant, Roles()).finding is None:
                at(variant).finding = fid
    for named in roles.values():
        if named.finding is not None:
            named.inferred = vocab.findings[named.finding].role is not FindingRole.OBSERVATION
    for f in vocab:
        for term in f.not_terms:
            # the whole phrase is read, so that the finding's word inside it names nothing
            for variant in plural_variants(term):
                if roles.get(variant, Roles()).finding is None:
                    at(variant)
        for term in f.historical_terms:
            for variant in plural_variants(term):
                r = roles.get(variant)
                if r is not None and r.finding == f.id:
                    r.historical_term = True
        for a in f.anchors:
            for k in plural_variants(a):
                r = at(k)
                if f.id not in r.anchor_of:
                    r.anchor_of = (*r.anchor_of, f.id)
        for q in f.qualifiers:
            r = at(normalize_term(q))
            if f.id not in r.qualifies:
                r.qualifies = (*r.qualifies, f.id)
            if q in f.uncertain_qualifiers and f.id not in r.uncertain_for:
                r.uncertain_for = (*r.uncertain_for, f.id)
        for q in f.normal_qualifiers:
            r = at(normalize_term(q))
            if f.id not in r.normal_for:
                r.normal_for = (*r.normal_for, f.id)
    for cue in cue_rules().cues:
        at(cue.phrase).add_cue(cue.category, cue.direction)
    mods = modifiers()
    for key, side in mods.laterality.items():
        at(key).laterality = side
    for key, loc in mods.locations.items():
        r = at(key)
        r.location = loc
        first = key.split(" ", 1)[0]
        if r.laterality is None and first in mods.laterality and " " in key:
            r.laterality = mods.laterality[first]
    for key, r in roles.items():
        # "right hemidiaphragm" (an anchor): the anatomy a side opens is on that side, and
        # so is the finding its qualifier names ("right hemidiaphragm elevation")
        first = key.split(" ", 1)[0]
        if r.anchor_of and r.finding is None and r.laterality is None and " " in key:
            r.laterality = mods.laterality.get(first)
    for key in mods.laterality:
        # "both lung bases": a side phrase that ends in a place is at that place too
        r, words = roles[key], key.split(" ")
        if r.location is not None:
            continue
        for i in range(1, len(words)):
            place = mods.locations.get(" ".join(words[i:]))
            if place is not None:
                r.location = place
                break
    for key, sev in mods.severity.items():
        at(key).severity = sev
    for key in mods.views:
        roles.setdefault(key, Roles())  # "the lateral view": read whole, it places nothing
    for key, r in roles.items():
        # "mildly enlarged", "small left": a longer phrase keeps the severity it opens with.
        first = key.split(" ", 1)[0]
        if r.severity is None and " " in key and first in mods.severity:
            r.severity = mods.severity[first]
    _add_term_places(roles, mods)
    if mods.splits:
        _add_variants(roles, lambda key: _split_variants(key, mods.splits))
    if mods.misheard:
        _add_variants(roles, lambda key: _misheard_variants(key, mods.misheard), anchors=True)
    origin = _add_spellings(roles, mods.spellings)
    keys = sorted(roles)
    identity = _WRAP + "\n" + "\n".join(keys)  # determines the pattern's source exactly
    pattern = compile_cached(identity, lambda: _WRAP.replace("{body}", trie_regex(keys)))
    return Lexicon(pattern, roles, respelled_from=origin, identity=identity)


# Phrases start and end at word edges; punctuation cues ("?", ";") need no edge, and a
# slash counts only between two words ("atelectasis/scarring", not "1/2" or " / ").
_WRAP = r"(?<![\w])(?:{body})(?![\w])|[?;]|(?<=[a-zA-Z])/(?=[a-zA-Z])"


@lru_cache(maxsize=1)
def _packaged_lexicon() -> Lexicon:
    return build_lexicon(load_vocabulary())


_BY_DIGEST: dict[str, Lexicon] = {}
_MAX_COMPILED = 4  # merged vocabularies kept compiled per process


def lexicon(vocab: Vocabulary | None = None) -> Lexicon:
    """The rules with a vocabulary (default: the packaged one), compiled once per process
    and per vocabulary digest: a worker compiles a user's merged vocabulary once."""
    if vocab is None or (not vocab.extended and vocab.digest == "packaged"):
        return _packaged_lexicon()
    hit = _BY_DIGEST.get(vocab.digest)
    if hit is None:
        if len(_BY_DIGEST) >= _MAX_COMPILED:
            _BY_DIGEST.pop(next(iter(_BY_DIGEST)))
        hit = _BY_DIGEST[vocab.digest] = build_lexicon(vocab)
    return hit


_NORM = re.compile(r"[\s\-]+")


def scan(text: str, lowered: str | None = None, lex: Lexicon | None = None) -> list[Token]:
    """Every known phrase in ``text``, left to right, longest first, as spans of ``text``
    (``lex``: a compiled :func:`lexicon`; default the packaged one)."""
    if lex is None:
        lex = _packaged_lexicon()
    if lowered is None:
        lowered = text.lower()
    return scan_span(text, lowered, lex, 0, len(text))


def scan_span(text: str, lowered: str, lex: Lexicon, start: int, end: int) -> list[Token]:
    """The phrases of ``text[start:end]`` (``lowered``: ``text.lower()``), as spans of
    ``text``: none runs out past ``end``, and none is looked for before ``start`` but the
    one character a phrase's opening looks behind at. So what a sentence's phrases are
    follows from its text and the character before it (the reader keys its sentence memo
    by them)."""
    if len(lowered) == len(text):
        matches = lex.pattern.finditer(lowered, start, end)
    else:  # a few characters change length when lowered; keep offsets exact
        matches = lex.pattern_ci.finditer(text, start, end)
    seen = lex.seen
    key_of = lex.key_of
    new = tuple.__new__  # Token(...) without the named tuple's Python-level __new__
    out: list[Token] = []
    for m in matches:
        matched = m.group()
        hit = seen.get(matched)
        if hit is None:
            hit = key_of(matched)  # first time seen, or seen and naming nothing
            if hit is None:
                continue
        s, e = m.span()
        out.append(new(Token, (s, e, hit[0], hit[1])))
    return _shared_heads(out, text, lex, start) if out else out


# "pleural or pericardial effusion": a word, then "or"/"and"/a comma, right before a term.
_COORDINATED = re.compile(
    r"([A-Za-z]+)[ \t]*(?:,[ \t]*(?:or|and)?|or|and|and/or)[ \t]+$", re.IGNORECASE
)
_COORDINATION_WINDOW = 40  # characters before a term to look for the other adjective in
_JOINERS = ("or", "and", ",")


def _only_qualifier(r: Roles) -> bool:
    """A phrase that only qualifies an anchor ("edematous" of "lungs"), nothing else."""
    return (
        bool(r.qualifies)
        and not (r.finding or r.cues or r.anchor_of or r.terminator or r.laterality or r.location)
        and r.severity is None
    )


def _shared_heads(tokens: list[Token], text: str, lex: Lexicon, lo: int) -> list[Token]:
    """Two adjectives sharing one head noun name two findings: "pleural or pericardial
    effusion" is a pleural effusion too. The word before the coordinator, with the term's
    head, must be a term of another finding, and no phrase of its own; nothing before
    ``lo`` (the scanned span's start) is looked at."""
    out = tokens
    for t in tokens:
        if t.roles.finding is None or " " not in t.key or t.start < 4:
            continue
        if not text[max(lo, t.start - 8) : t.start].rstrip(" \t").lower().endswith(_JOINERS):
            continue  # the cheap test first: this runs on every term of every report
        m = _COORDINATED.search(text, max(lo, t.start - _COORDINATION_WINDOW), t.start)
        if m is None:
            continue
        word_start, word_end = m.span(1)
        hit = lex.key_of(f"{m.group(1)} {t.key.split(' ', 1)[1]}")
        if hit is None or hit[1].finding in (None, t.roles.finding):
            continue
        overlaps = [o for o in out if o.start < word_end and word_start < o.end]
        if any(not _only_qualifier(o.roles) for o in overlaps):
            continue  # the word is a phrase already ("left", "no")
        if out is tokens:
            out = list(tokens)
        for o in overlaps:
            out.remove(o)  # "edematous or atelectatic changes": not the lungs' qualifier here
        out.append(Token(word_start, word_end, hit[0], hit[1]))
    if out is not tokens:
        out.sort(key=lambda o: o.start)
    return out

"""Free query words: how they count where a query also names a finding, and where a
report writes them only to negate them.

A free word is any query word the vocabulary does not map to a finding ("lower lobe",
"goiter"). Two things decide whether a report answers it:

* Where it is written. With a finding ("right middle lobe opacity"), a word in the
  sentence of the finding's matching mention, or a location the reader placed that
  mention at, is a closer answer than the word somewhere else (``near_evidence``).
* Whether the report asserts it. The archive already leaves out the words of negated
  finding mentions (``analysis.stated_words_text``); a word that is no finding has no
  mention, so "No goiter." would still match "goiter". The reader's targets mode
  (``radpilot.reports.targets``, ConText over the same cue data the batch labeller's
  targets use) reads each occurrence as a target: a word whose every occurrence is
  negated, hypothetical or someone else's is not stated (``stated_only``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from radpilot.reports.models import Certainty, Laterality
from radpilot.reports.morphology import singular, stem
from radpilot.reports.sections import split_sentences
from radpilot.reports.vocabulary import normalize_term
from radpilot.search.analysis import answering_sides, side_words
from radpilot.search.config import query_words
from radpilot.search.models import StoredMention
from radpilot.search.query import FindingTerm, Query
from radpilot.search.store import ArchiveStore
from radpilot.search.vocab import expand

_WORD = re.compile(r"\w", re.UNICODE)
_WORDS = re.compile(r"[a-z0-9]+")


PLURAL_COUNT = 0.5  # a count said only by the plural (``degree_grade``)


def near_evidence(
    store: ArchiveStore,
    q: Query,
    terms: list[FindingTerm],
    ids: list[int],
    ments: dict[int, list[StoredMention]] | None = None,
) -> dict[int, Near]:
    """Share of the free words that a matching mention states: a location the words
    name (the reader's location phrases: "middle lobe", "basilar") is at the mention's
    locations (or one that answers it, ``near_locations``), a degree ("mildly",
    "multiple": ``degree_grade``) is the mention's, any other word is in the
    mention's sentence (or a compound there that holds it: "thoracolumbar" for "lumbar").

    "right middle lobe opacity" asks for an opacity in the middle lobe: a right upper
    lobe opacity in a report that says "lobe" elsewhere is a worse answer than one whose
    opacity the reader placed in the right middle lobe. Only present or uncertain
    mentions with the query's side and change count, so a negated sentence never
    supplies the words.

    Three shares per report (``Near``): a place the query names is a constraint as its
    side is; a degree is an attribute the reader reads of the mention (its severity,
    its number), so it ranks before the finding's own words; another free word ("focal")
    only qualifies the finding, so the engine ranks it after them.
    """
    places, rest = asked_places(q, terms)
    sides = query_sides(terms)
    qw = query_words()
    degrees = [
        w for w in rest if normalize_term(w) in qw.degrees or normalize_term(w) in qw.count_words
    ]
    pats = [part_pattern(w) for w in rest if _WORD.search(w) and w not in degrees]
    asked = len(places) + len(pats) + len(degrees)
    out: dict[int, Near] = {}
    if not asked:
        return out
    if ments is None:  # ``ments``: the candidates' mentions of the terms' findings, if read
        ments = store.mentions(ids, sorted({f for t in terms for f in expand(t.finding)}))
    texts = (
        store.texts(list(ments))
        if pats or degrees
        else _unplaced_texts(store, terms, ments, places)
    )
    nouns = tuple(stem(t.text.split()[-1]) for t in terms if t.text.split())
    for rid, ms in ments.items():
        live = _live(terms, ms)
        text = texts.get(rid, "")
        sentences = {text[m.sentence[0] : m.sentence[1]] for m in live}
        locs = {loc for m in live for loc in placed_in(m, text)}
        words = sum(1 for p in pats if any(p.search(s) for s in sentences))
        degree = sum(degree_grade(w, live, sentences, nouns) for w in degrees)
        grades = [place_grade(place, locs, sides) for place in places]
        at = sum(grades)
        if words or at or degree:
            written = bool(grades) and min(grades) == 1.0
            out[rid] = Near(at / asked, degree / asked, words / asked, written)
    return out


class Near(NamedTuple):
    """A report's shares of a query's free words near its evidence (``near_evidence``)."""

    places: float = 0.0
    degree: float = 0.0
    words: float = 0.0
    written: bool = False  # every place asked is a place of its evidence as written


def degree_grade(
    word: str, live: Sequence[StoredMention], sentences: set[str], nouns: Sequence[str]
) -> float:
    """How well a degree word of the query (a severity of ``query_words.json`` ``degrees``,
    a count word) is the stated mentions': 1.0 for a severity by a word of the severities
    that answer it in their sentence ("mildly tortuous aorta": "mild tortuosity of the
    thoracic aorta"), or a count word in its sentence ("several small calcified
    granulomas"); ``PLURAL_COUNT`` for a count said only by a mention whose head is one of
    the query's finding ``nouns`` in the plural ("calcified granulomas": more than one,
    though not said to be many; not "degenerative changes" for "multiple osteophytes");
    else 0.0."""
    qw = query_words()
    if normalize_term(word) in qw.count_words:
        if _whole_words(qw.count_words).search(" ".join(sentences)):
            return 1.0
        return PLURAL_COUNT if any(_plural_of(m.span_text, nouns) for m in live) else 0.0
    pattern = _whole_words(qw.degrees[normalize_term(word)])
    return 1.0 if any(pattern.search(s) for s in sentences) else 0.0


def _plural_of(span: str, nouns: Sequence[str]) -> bool:
    words = span.split()
    last = words[-1] if words else ""
    return singular(last) != last and any(last.startswith(n) for n in nouns)


@lru_cache(maxsize=64)
def _whole_words(words: frozenset[str]) -> re.Pattern[str]:
    """Any of the words as whole words ("mild" is no "mildly"; a space is any spacing)."""
    alts = sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE)


def part_pattern(word: str) -> re.Pattern[str]:
    """``word_pattern``, or, for a place word that a compound holds ("lumbar" of
    "thoracolumbar", ``query_words.json`` ``compound_words``), the word or the compound."""
    joined = query_words().compounds.get(normalize_term(word))
    return _any_word([word, *joined]) if joined else word_pattern(word)


def _live(terms: Sequence[FindingTerm], ms: Sequence[StoredMention]) -> list[StoredMention]:
    """The mentions that answer a term: its finding, stated, with its side and change."""
    return [
        m
        for t in terms
        for m in ms
        if m.finding in expand(t.finding)
        and m.status in ("present", "uncertain")
        and attributes_hold(t, m)
    ]


def placed_elsewhere(
    q: Query, terms: list[FindingTerm], ments: dict[int, list[StoredMention]]
) -> set[int]:
    """The reports where the reader placed the terms' stated mentions, none at a place
    the query's free words name (a mention placed nowhere, often the same finding said
    again in the impression, does not count): "biapical scarring" is no answer to "left
    basilar scarring", where "left base opacity, possibly scarring" is one, if uncertain,
    and a scarring the reader placed nowhere may be one. The engine ranks them after
    every match at the place or placed nowhere, certain or not. Only the reader's places
    count here: a place its sentence writes (``placed_in``) may be another finding's,
    enough to rank a mention at it, not to rank one after those placed nowhere."""
    places, _ = asked_places(q, terms)
    if not places:
        return set()
    sides = query_sides(terms)
    out = set()
    for rid, ms in ments.items():
        where = [m for m in _live(terms, ms) if m.locations]
        if where and not any(answers_place(p, placed(m), sides) for m in where for p in places):
            out.add(rid)
    return out


def placed_in(m: StoredMention, text: str) -> set[str]:
    """Where a mention is: where the reader placed it (``placed``), or, for one it placed
    nowhere, the places its sentence writes (``text``: its report's, or "" where not
    read): "Right middle lobe infiltrate consistent with pneumonia" is a pneumonia in the
    right middle lobe, though the reader placed only the infiltrate."""
    got = placed(m)
    if got or not text:
        return got
    return set(_written_places(text[m.sentence[0] : m.sentence[1]]))


@lru_cache(maxsize=4096)
def _written_places(sentence: str) -> frozenset[str]:
    """The reader's locations a sentence writes (read once: a sentence holds many
    mentions, and a report is read by many queries)."""
    return frozenset(locations_in(_WORDS.findall(sentence.lower()))[0])


def _unplaced_texts(
    store: ArchiveStore,
    terms: Sequence[FindingTerm],
    ments: dict[int, list[StoredMention]],
    places: Sequence[str],
) -> dict[int, str]:
    """The texts of the reports with a stated mention the reader placed nowhere, for a
    query that names a place (none read otherwise)."""
    if not places:
        return {}
    return store.texts(
        [rid for rid, ms in ments.items() if any(not placed(m) for m in _live(terms, ms))]
    )


def asked_places(q: Query, terms: Sequence[FindingTerm]) -> tuple[list[str], list[str]]:
    """``locations_in`` the free words, less a place a term's finding is named for
    (the diaphragm of ``elevated_hemidiaphragm``): every mention of it is there, so the
    word only qualifies ("right hemidiaphragm eventration" is ranked by "eventration").
    Then the places a term's own words write (``term_places``)."""
    places, rest = locations_in(q.words)
    named = [w for t in terms for w in t.finding.split("_")]
    organ = [p for p in places if all(any(x in w for w in named) for x in p.split())]
    kept = [p for p in places if p not in organ]
    inside = [p for t in terms for p in term_places(t) if p not in kept]
    return [*kept, *dict.fromkeys(inside)], [*rest, *organ]


def term_places(t: FindingTerm) -> list[str]:
    """The places written among a finding term's words before its noun, where one
    synonym holds them ("mediastinal" of "calcified mediastinal lymph nodes", "apical" of
    "apical scarring"): the query asks for the finding there, as it does with the place
    as a free word ("mediastinal calcified lymph nodes"). A place that shares a word
    with the finding's name is where every mention of it is (the rib of ``rib_fracture``,
    the hilum of ``hilar_enlargement``, the angle of ``costophrenic_blunting``), the
    "central" of ``central_line`` a part of the device's name: no constraint."""
    stop = query_words().stopwords
    written = [w for w in _WORDS.findall(t.text.lower()) if w not in stop]
    named = t.finding.split("_")
    return [
        p
        for p in locations_in(written[:-1])[0]
        if not any(x in w or w in x for x in p.split() for w in named)
    ]


def locations_in(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """The reader's locations that a run of free words names (longest phrase first), and
    the words left over: ("middle", "lobe", "nodular") -> (["right middle lobe"], ["nodular"])."""
    qw = query_words()
    longest = max((len(k.split()) for k in qw.locations), default=1)
    places: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            place = qw.locations.get(normalize_term(" ".join(words[i : i + n])))
            if place is not None:
                places.append(place)
                i += n
                break
        else:
            rest.append(words[i])
            i += 1
    return places, rest


def placed(m: StoredMention) -> set[str]:
    """Where the reader placed a mention: its locations, and each with its side before it
    ("left mid zone"), so a near location may name a site on one side only (the lingula
    is the left mid zone of a radiograph, ``near_locations``). A location that carries a
    side of its own ("left lower lobe", the lingula) takes no other: "scarring in the
    right midlung and left lower lobe" is no right lower lobe scarring."""
    sides = [s for s in (m.sides or (m.laterality,)) if s]
    own = {loc for loc in m.locations if _own_side(loc) is not None}
    return {
        *m.locations,
        *(f"{side} {loc}" for side in sides for loc in m.locations if loc not in own),
    }


_ONE_SIDE = frozenset((Laterality.LEFT, Laterality.RIGHT))


def _own_side(location: str) -> str | None:
    """The side a location names by itself: one side word in it (``modifiers.json``
    laterality, the one laterality vocabulary), or its lobe's side (``location_sides``:
    the lingula is the left's)."""
    from radpilot.reports.rules import modifiers

    mods = modifiers()
    named = {side for w in location.split() if (side := mods.laterality.get(w)) in _ONE_SIDE}
    if len(named) == 1:
        return named.pop().value
    lobe = mods.location_sides.get(location)
    return lobe.value if lobe is not None else None


def answers_place(place: str, locations: set[str], sides: Sequence[str] = ()) -> bool:
    """A mention at ``locations`` is at ``place``: the same location, one that contains
    it ("left lower lobe" for "lower lobe") or one listed as answering it. ``sides``: the
    sides a sided query's mention may be on (``analysis.answering_sides``); a location
    that names a side of its own answers only with one of them, so "lower lobe" of
    "right lower lobe scarring" is not the left lower lobe of a mention the reader gave
    the right side for another of its places."""
    return place_grade(place, locations, sides) > 0.0


NEAR_PLACE = 0.5  # a place that only answers the one asked (``near_locations``)


def place_grade(place: str, locations: set[str], sides: Sequence[str] = ()) -> float:
    """How well ``locations`` answer ``place`` (``answers_place``): 1.0 for the place as
    asked, one containing it or one naming it otherwise (``same_locations``: "lower lobe"
    for "basilar"), ``NEAR_PLACE`` for one that only answers it ("apical"
    for "upper lobe": the apex is in the upper lobe, but "upper lobe scarring" asks first
    for the scarring written there), else 0.0."""
    qw = query_words()
    near = qw.near_locations.get(place, frozenset())
    same = qw.same_locations.get(place, frozenset())
    words = set(place.split())
    best = 0.0
    for loc in locations:
        if sides and (own := _own_side(loc)) is not None and own not in sides:
            continue
        if loc == place or words <= set(loc.split()) or loc in same:
            return 1.0
        if loc in near:
            best = NEAR_PLACE
    return best


def query_sides(terms: Sequence[FindingTerm]) -> tuple[str, ...]:
    """The sides a place asked must carry, where a term names one (``answers_place``)."""
    return tuple(
        dict.fromkeys(s for t in terms if t.laterality for s in answering_sides(t.laterality.value))
    )


def word_pattern(word: str) -> re.Pattern[str]:
    """A whole word or phrase with any ending of its last word: the last word's stem
    ("opacities" and "opacity" -> "opacit"), without a verb ending ("blunted" ->
    "blunt", so "blunting" matches too, as FTS5's porter stemmer matches it).

    >>> bool(word_pattern("blunted").search("Blunting of the angle"))
    True
    """
    words = word.lower().split()
    if words:
        last = stem(words[-1])
        for end in ("ing", "ed"):
            if last.endswith(end) and len(last) - len(end) >= 4:
                last = last[: -len(end)]
                break
        words[-1] = last
    return re.compile(r"\b" + r"\s+".join(re.escape(p) for p in words), re.IGNORECASE)


def attributes_hold(t: FindingTerm, m: StoredMention) -> bool:
    return (
        (
            t.laterality is None
            or any(s in (m.sides or (m.laterality,)) for s in answering_sides(t.laterality.value))
        )
        and (t.change is None or m.change == t.change.value)
        and (t.location is None or any(t.location in loc for loc in m.locations))
    )


def negated_words(text: str, words: Sequence[str]) -> set[str]:
    """The ``words`` that ``text`` writes, but only where it negates them, offers them as
    a hypothesis or says them of someone else (the reader's targets mode on every
    occurrence).

    >>> sorted(negated_words("No goiter. Thymoma is seen.", ["goiter", "thymoma", "azygos"]))
    ['goiter']
    """
    return _judged(text, words)[1]


def _judged(text: str, words: Sequence[str]) -> tuple[set[str], set[str]]:
    """(the words ``text`` writes, those of them it only negates)."""
    from radpilot.reports.targets import Experiencer, read_targets

    spans: dict[str, list[tuple[int, int]]] = {}
    for w in words:
        if _WORD.search(w):
            found = [m.span() for m in word_pattern(w).finditer(text)]
            if found:
                spans[w] = found
    if not spans:
        return set(), set()
    flat = list(dict.fromkeys(sp for sps in spans.values() for sp in sps))
    said = dict(zip(flat, read_targets(text, flat), strict=True))
    negated = {
        w
        for w, sps in spans.items()
        if not any(
            said[sp].certainty is not Certainty.ABSENT
            and not said[sp].hypothetical
            and said[sp].experiencer is Experiencer.PATIENT
            for sp in sps
        )
    }
    return set(spans), negated


def stated_only(
    store: ArchiveStore, words: Sequence[str], scores: dict[int, float], *, cap: int = 400
) -> dict[int, float]:
    """``scores`` (a free-word score per report) with the words each report only negates
    taken out: the score shrinks by their share, and a report left with none is dropped.
    The ``cap`` best-scored reports are read (about 0.3 ms each); the rest rank below
    them and keep their scores."""
    if not scores or not words:
        return scores
    best = sorted(scores, key=lambda rid: (-scores[rid], -rid))
    out = {rid: scores[rid] for rid in best[cap:]}
    reports = store.reports(best[:cap])
    for rid in best[:cap]:
        score = scores[rid]
        rep = reports.get(rid)
        found, neg = _judged(rep.text, words) if rep is not None else (set(), set())
        if not neg or neg != found:  # a report that writes the words only negated is out
            out[rid] = score * (1 - len(neg) / len(words))
    return out


def drop_negated(
    store: ArchiveStore, words: Sequence[str], ranked: list[int], want: int
) -> set[int]:
    """Of ``ranked`` (best first), the reports that write the words only negated, read in
    rank order until ``want`` others are found: a words-only query reads about a page
    of reports, not every candidate."""
    dropped: set[int] = set()
    kept = 0
    at = 0
    while kept < want and at < len(ranked):
        chunk = ranked[at : at + max(want - kept, 8)]
        at += len(chunk)
        reports = store.reports(chunk)
        for rid in chunk:
            rep = reports.get(rid)
            found, neg = _judged(rep.text, words) if rep is not None else (set(), set())
            if neg and neg == found:
                dropped.add(rid)
            else:
                kept += 1
    return dropped


def sideless_on(
    store: ArchiveStore, rowids: Sequence[int], terms: Sequence[FindingTerm], family: Sequence[str]
) -> set[int]:
    """The reports where the reader read the terms' findings only as present and with no
    side, and a mention's own words write each term's side: "The left hemidiaphragm is
    mildly elevated" (the reader's words "left hemidiaphragm is mildly elevated", no
    side) answers "elevated left hemidiaphragm"; or its sentence writes the side and no
    other mention there has it ("interstitial opacities within the lung bases
    bilaterally"): a side in the sentence that the reader gave another finding is that
    one's ("Pulmonary edema and bilateral effusions"). A report with a sided mention of
    the family, or a negated or uncertain one of the terms' findings, has been judged and
    is left out; "No focal airspace opacity" beside "Interstitial opacities ... at both
    bases" negates the generic parent, not the subtype asked."""
    if not rowids:
        return set()
    own = {f for t in terms for f in expand(t.finding)}
    sides = [t.laterality.value for t in terms if t.laterality]
    # The side as any of the reader's words for it: "at both lung bases" is bilateral.
    pats = [_any_word(side_words(side)) for side in sides]
    fam = set(family)
    every = store.mentions(rowids)
    ours = {rid: [m for m in ms if m.finding in fam] for rid, ms in every.items()}
    texts = store.texts([rid for rid, ms in ours.items() if ms])
    out = set()
    for rid, ms in ours.items():
        if not ms or any(m.laterality or (m.status != "present" and m.finding in own) for m in ms):
            continue
        ms = [m for m in ms if m.status == "present"]
        if all(
            any(_owns(m, side, p, every[rid], fam, texts.get(rid, "")) for m in ms)
            for side, p in zip(sides, pats, strict=True)
        ):
            out.add(rid)
    return out


def _any_word(words: Sequence[str]) -> re.Pattern[str]:
    """``word_pattern`` of any of the words, the longest first."""
    alts = sorted({word_pattern(w).pattern[2:] for w in words}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alts) + ")", re.IGNORECASE)


def _owns(
    m: StoredMention,
    side: str,
    pat: re.Pattern[str],
    every: Sequence[StoredMention],
    family: set[str],
    text: str,
) -> bool:
    """Whether a side-less mention's side word is ``side``: in its own words, or in its
    sentence where no mention of another finding there has that side."""
    if pat.search(m.span_text):
        return True
    if not pat.search(text[m.sentence[0] : m.sentence[1]]):
        return False
    others = [o for o in every if o.sentence == m.sentence and o.finding not in family]
    return not any(side in (o.sides or (o.laterality,)) for o in others)


def said_together(
    store: ArchiveStore,
    rowids: Sequence[int],
    words: Sequence[Sequence[str]],
    sides: Sequence[Sequence[str]],
    named: int,
) -> set[int]:
    """The reports one sentence of which states every side of ``sides`` (each as any of
    its words: "right", or a bilateral word for a one-sided query's second fill) and two
    of the other ``words`` (the one, where one is asked; each word as any of its
    spellings: "calcification" or "calcified"), one of them among the first ``named`` (the
    finding's own words: "left lower lobe consolidation" writes two words of "left lower
    lobe nodule", none of the nodule's): "Stable chronic blunting of the left costophrenic
    angle" beside "right hilar granulomas" is no right costophrenic blunting. Each word
    is judged where that sentence writes it (the reader's targets mode), not by the
    reader's mentions of the sentence: "mild blunting of the right costophrenic angle,
    without definite pleural effusion" states the blunting, though the only finding the
    reader read there is a negated effusion."""
    asked = [[(w, word_pattern(w)) for w in forms if _WORD.search(w)] for forms in words]
    need = min(2, sum(map(bool, asked)))
    side_pats = [[(s, word_pattern(s)) for s in alts] for alts in sides]
    out: set[int] = set()
    for rid, text in store.texts(list(rowids)).items():
        for sentence in split_sentences(text):
            body = sentence.text
            written = [[w for w, p in a if p.search(body)] for a in asked]
            on = [[s for s, p in alts if p.search(body)] for alts in side_pats]
            if sum(map(bool, written)) < need or not all(on):
                continue
            found, negated = _judged(body, [s for ss in (*on, *written) for s in ss])
            stated = found - negated
            said = [i for i, ws in enumerate(written) if stated.intersection(ws)]
            if all(stated.intersection(ss) for ss in on) and len(said) >= need and said[0] < named:
                out.add(rid)
                break
    return out

"""How closely a report's own words answer a finding query, beyond the reader's match.

The reader maps many wordings to one finding ("mass" and "nodule" to a lung lesion,
"pneumonitis" to pneumonia, "interstitial prominence" to interstitial markings); each is
a right match, but among reports of the same certainty the one that names the finding in
the query's words is the better answer. Three measures, all read from the stored
mentions (the reader's ``term``, its span's words) and the report text, so both backends
rank alike:

* ``stated_phrase``: the report writes the query's whole phrase ("left basilar
  atelectasis") in the sentence of a matching mention that the reader reads as present:
  the most literal answer, ranked first within its certainty tier;
* ``word_share``: the share of the query's finding words that a matching mention's own
  words hold (stems, and the derived forms of ``query_words.json`` ``derived_endings``):
  "lung nodule" is answered by "nodule" in half, by "mass" not at all;
* ``literal``: the older score bonus for the head word and the whole finding phrase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from radpilot.reports.morphology import stem
from radpilot.search.config import query_words
from radpilot.search.freewords import (
    answers_place,
    attributes_hold,
    locations_in,
    placed,
    word_pattern,
)
from radpilot.search.models import StoredMention
from radpilot.search.query import FindingTerm, Polarity, Query, tokens
from radpilot.search.store import ArchiveStore
from radpilot.search.vocab import expand

_WORDS = re.compile(r"[a-z0-9]+")
_LIVE = ("present", "uncertain")
Mentions = dict[int, list[StoredMention]]


def head(text: str) -> str:
    """The stem of the last written word: "opacities" and "opacity" share "opacit"."""
    return stem(text.split()[-1]) if text.split() else ""


def forms(word: str) -> tuple[str, ...]:
    """A word's stem and its other forms' stems: "emphysema" -> "emphysema",
    "emphysemat" ("emphysematous changes" names emphysema in its own word); "aortic" ->
    "aorta", "calcification" -> "calcified" ("the aorta is calcified")."""
    low = word.lower()
    out = [stem(low)]
    for end, alts in query_words().derived_endings:
        for w in dict.fromkeys((low, out[0])):  # "calcifications": its singular's forms
            if w.endswith(end) and len(w) > len(end) + 3:
                out.extend(w[: -len(end)] + alt for alt in alts)
    return tuple(dict.fromkeys(out))


def spellings(word: str) -> tuple[str, ...]:
    """A word as written and its other forms as whole words (``forms`` without the
    stem): "calcification" -> "calcification", "calcificated", "calcified"."""
    return tuple(dict.fromkeys((word, *forms(word)[1:])))


def heads(text: str) -> tuple[str, ...]:
    """``forms`` of the head (last) word of ``text``."""
    words = text.lower().split()
    return forms(words[-1]) if words else ()


def _matching(
    t: FindingTerm, ms: Sequence[StoredMention], statuses: Sequence[str], fset: frozenset[str]
) -> list[StoredMention]:
    return [m for m in ms if m.finding in fset and m.status in statuses and attributes_hold(t, m)]


@lru_cache(maxsize=4096)
def _stems(words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _WORDS.findall(words.lower()))


# A query word the mention's sentence writes, outside the reader's term for it, counts
# this much of one in the term ("streaky" in "streaky bibasilar opacities").
_NEARBY = 0.5
# A term's word that names the finding's organ ("lungs" of "hyperlucent lungs") tells
# little: most of the finding's mentions are in it (``query_words.json`` ``organ_words``).
_ORGAN = 0.5


@dataclass(frozen=True, slots=True)
class _Asked:
    """One finding term's written words as their ``forms``, and the places among them
    ("apical" of "apical scarring")."""

    words: tuple[tuple[str, ...], ...]
    places: tuple[str, ...]
    weights: tuple[float, ...]  # per word: an organ word ("lungs") counts _ORGAN
    written: tuple[str, ...] = ()  # the words as the query writes them

    @property
    def size(self) -> float:
        return sum(self.weights) + len(self.places)


def _asked(t: FindingTerm) -> _Asked | None:
    stop = query_words().stopwords
    written = [w for w in _WORDS.findall(t.text.lower()) if w not in stop]
    if not written:
        return None
    places, rest = locations_in(written[:-1])  # the last word is the finding's noun
    words = [*rest, written[-1]]
    organ = query_words().organ_words
    weights = tuple(_ORGAN if w in organ else 1.0 for w in words)
    return _Asked(tuple(_read_forms(w) for w in words), tuple(places), weights, tuple(words))


def _read_forms(word: str) -> tuple[str, ...]:
    """``forms`` and their stems, as the mention's words are read (``_stems``): the stem
    of "hyperlucency" is "hyperlucenc", which the form "hyperlucency" does not begin."""
    got = forms(word)
    return tuple(dict.fromkeys((*got, *(stem(f) for f in got[1:]))))


def reads_words(q: Query, terms: Sequence[FindingTerm]) -> bool:
    """Whether the query's own words can reorder its matches: a term of more than one
    word ("pleural effusion", "apical scarring"), or a phrase beyond one finding's own
    words ("left pneumothorax"). A one-word finding ("pneumothorax") is already ranked
    by its literal bonus (``literal``: the head word in the mention's term), so its
    mentions need not be read again."""
    if any((a := _asked(t)) is not None and a.size > 1 for t in terms):
        return True
    phrase = query_phrase(q)
    return phrase is not None and not (
        len(terms) == 1 and _WORDS.findall(phrase.lower()) == _WORDS.findall(terms[0].text.lower())
    )


def _holds(fs: tuple[str, ...], written: frozenset[str]) -> bool:
    """A written word begins with one of the forms, or does after a prefix joined to it
    (``query_words.json`` ``joined_prefixes``: "dextroscoliosis" holds "scoliosis")."""
    joined = ("", *query_words().joined_prefixes)
    return any(x.startswith(p + f) for f in fs for x in written for p in joined)


def _names(place: str, written: frozenset[str]) -> bool:
    return all(_holds((stem(w),), written) for w in place.split())


def _share(asked: _Asked, m: StoredMention, sentence: str) -> float:
    """Share of the term's words a mention states: a word the reader's term for it
    holds counts whole ("lung nodule" is answered by "nodule" in half, by "mass" not at
    all), one its sentence writes elsewhere counts ``_NEARBY`` ("streaky" of "streaky
    bibasilar opacities", which the reader's term leaves out), and a place counts whole
    where the reader placed the mention ("apical" for "biapical scarring")."""
    span = _stems(m.span_text)
    around = _stems(sentence)
    got = 0.0
    for fs, weight in zip(asked.words, asked.weights, strict=True):
        got += weight * (1.0 if _holds(fs, span) else _NEARBY if _holds(fs, around) else 0.0)
    locs = placed(m)
    for p in asked.places:
        got += 1.0 if answers_place(p, locs) else _NEARBY if _names(p, around) else 0.0
    return got / asked.size


class Texts:
    """Report texts read on demand, each once (most rankings need few or none)."""

    def __init__(self, store: ArchiveStore) -> None:
        self.store = store
        self.got: dict[int, str] = {}

    def __call__(self, rowids: Sequence[int]) -> dict[int, str]:
        missing = [rid for rid in rowids if rid not in self.got]
        if missing:
            self.got.update(self.store.texts(missing))
        return self.got


def _whole(asked: _Asked, m: StoredMention) -> bool:
    """The mention's own words and places already hold every word of the term."""
    span = _stems(m.span_text)
    locs = placed(m)
    return all(_holds(fs, span) for fs in asked.words) and all(
        answers_place(p, locs) for p in asked.places
    )


def word_share(
    terms: Sequence[FindingTerm], ments: Mentions, texts: Texts, ids: Sequence[int]
) -> dict[int, float]:
    """Per report: the mean over the query's finding terms of the best share of a
    matching (present or uncertain) mention (``_share``); reports with none are left
    out. The sentences are read only for reports no mention of which holds a term
    whole."""
    out: dict[int, float] = {}
    asks = [(t, a, frozenset(expand(t.finding))) for t in terms if (a := _asked(t))]
    if not asks:
        return out
    live = {
        rid: [_matching(t, ms, _LIVE, fset) for t, _, fset in asks]
        for rid in ids
        if (ms := ments.get(rid))
    }
    partial = [
        rid
        for rid, per_term in live.items()
        if any(
            not any(_whole(a, m) for m in ms) for (_, a, _), ms in zip(asks, per_term, strict=True)
        )
    ]
    text = texts(partial) if partial else {}
    written = sorted({w for _, a, _ in asks for w in a.written})
    idf = texts.store.word_idf(written) if any(len(a.written) > 1 for _, a, _ in asks) else {}
    rare = [_by_idf(a, idf) for _, a, _ in asks]
    for rid, per_term in live.items():
        body = text.get(rid, "")
        total = 0.0
        for asked, ms in zip(rare, per_term, strict=True):
            best = (_share(asked, m, body[m.sentence[0] : m.sentence[1]]) for m in ms)
            total += max(best, default=0.0)
        if total:
            out[rid] = total / len(terms)
    return out


def _by_idf(asked: _Asked, idf: dict[str, float]) -> _Asked:
    """The term with each word weighed by its IDF in the archive, the rarest counting
    whole: of "bronchovascular markings", "bronchovascular" (in few reports) names the
    kind asked and "markings" (in many: interstitial, lung, vascular markings) little, so
    "bronchovascular crowding" answers it before "interstitial markings", as BM25 would
    rank the two words. A word in no report counts whole."""
    if len(asked.written) < 2:
        return asked
    top = max((idf[w] for w in asked.written if w in idf), default=0.0)
    if top <= 0:
        return asked
    weights = tuple(
        w * idf.get(word, top) / top for word, w in zip(asked.written, asked.weights, strict=True)
    )
    return replace(asked, weights=weights)


def query_phrase(q: Query) -> str | None:
    """The query's plain words in the order typed ("left basilar atelectasis"), without
    filters, prefixed terms or quotes' grouping; None for a query built in code."""
    if not q.raw.strip():
        return None
    plain = []
    for tok in tokens(q.raw):
        if ":" in tok or tok[:1] in "+-" or not re.search(r"\w", tok):
            continue
        plain.append(tok)
    return " ".join(" ".join(plain).split()) or None


def stated_phrase(
    q: Query, terms: Sequence[FindingTerm], ments: Mentions, texts: Texts
) -> set[int]:
    """The reports that write the query's whole phrase in the sentence of a mention that
    matches every attribute asked and that the reader reads as present (or uncertain,
    for an ``uncertain:`` query). A phrase that is one finding's own words ("pleural
    effusion") adds nothing to ``word_share`` and is not read for."""
    phrase = query_phrase(q)
    if phrase is None or not terms:
        return set()
    if len(terms) == 1 and _WORDS.findall(phrase.lower()) == _WORDS.findall(terms[0].text.lower()):
        return set()
    pattern = word_pattern(phrase)
    candidates: dict[int, list[tuple[int, int]]] = {}
    asks = [
        (
            t,
            ("uncertain",) if t.polarity is Polarity.UNCERTAIN else ("present",),
            frozenset(expand(t.finding)),
        )
        for t in terms
    ]
    for rid, ms in ments.items():
        sentences = []
        for t, status, fset in asks:
            sentences += [m.sentence for m in _matching(t, ms, status, fset)]
        if sentences:
            candidates[rid] = sentences
    text = texts(list(candidates)) if candidates else {}
    return {
        rid
        for rid, spans in candidates.items()
        if any(pattern.search(text.get(rid, "")[a:b]) for a, b in spans)
    }


def literal(store: ArchiveStore, ids: list[int], terms: list[FindingTerm]) -> dict[int, float]:
    """Share of the query's findings that a report names in the query's own words.

    The reader maps "pneumonitis" to pneumonia and "dense nodule" to nodule; both are
    right to match, but a report that says "pneumonia" is the better answer.
    Literal evidence must be as strong as asked: an "uncertain: pulmonary nodule" does not
    make a "nodular opacity" report a literal nodule.
    """
    out: dict[int, float] = {}
    for t in terms:
        status = "uncertain" if t.polarity is Polarity.UNCERTAIN else "present"
        found: set[int] = set()
        for h in heads(t.text):
            found |= store.literal_hits(ids, expand(t.finding), status, h)
        # The head word is the literal match; the query's whole phrase in one mention is
        # closer ("interstitial markings" before "lung markings"): half the bonus each.
        written = t.text.lower().split()
        share = dict.fromkeys(found, 1.0)
        if len(written) > 1 and found:
            phrase = " ".join([*written[:-1], head(t.text)])
            share = dict.fromkeys(found, 0.5)
            for rid in store.literal_hits(list(found), expand(t.finding), status, phrase):
                share[rid] = 1.0
        for rid, v in share.items():
            out[rid] = out.get(rid, 0.0) + v / len(terms)
    return out

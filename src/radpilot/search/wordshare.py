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
from functools import lru_cache

from radpilot.reports.morphology import stem
from radpilot.search.config import query_words
from radpilot.search.freewords import attributes_hold, word_pattern
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
    """A word's stem and its derived forms' stems: "emphysema" -> "emphysema",
    "emphysemat" ("emphysematous changes" names emphysema in its own word)."""
    low = word.lower()
    out = [stem(low)]
    for end, alts in query_words().derived_endings:
        if low.endswith(end) and len(low) > len(end) + 3:
            out.extend(low[: -len(end)] + alt for alt in alts)
    return tuple(dict.fromkeys(out))


def heads(text: str) -> tuple[str, ...]:
    """``forms`` of the head (last) word of ``text``."""
    words = text.lower().split()
    return forms(words[-1]) if words else ()


def _matching(
    t: FindingTerm, ms: Sequence[StoredMention], statuses: Sequence[str], fset: frozenset[str]
) -> list[StoredMention]:
    return [m for m in ms if m.finding in fset and m.status in statuses and attributes_hold(t, m)]


@lru_cache(maxsize=4096)
def _stems(span_text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _WORDS.findall(span_text.lower()))


def _asked(t: FindingTerm) -> list[tuple[str, ...]]:
    """The term's written words (stopwords out), each as its ``forms``."""
    stop = query_words().stopwords
    return [forms(w) for w in _WORDS.findall(t.text.lower()) if w not in stop]


def _share(asked: list[tuple[str, ...]], m: StoredMention) -> float:
    """Share of the asked words that the mention's words hold."""
    written = _stems(m.span_text)
    got = sum(1 for fs in asked if any(x.startswith(f) for f in fs for x in written))
    return got / len(asked)


def word_share(
    terms: Sequence[FindingTerm], ments: Mentions, ids: Sequence[int]
) -> dict[int, float]:
    """Per report: the mean over the query's finding terms of the best share of a
    matching (present or uncertain) mention; reports with none are left out."""
    out: dict[int, float] = {}
    asks = [(t, _asked(t), frozenset(expand(t.finding))) for t in terms]
    asks = [a for a in asks if a[1]]
    if not asks:
        return out
    for rid in ids:
        ms = ments.get(rid)
        if not ms:
            continue
        total = 0.0
        for t, asked, fset in asks:
            live = _matching(t, ms, _LIVE, fset)
            total += max((_share(asked, m) for m in live), default=0.0)
        if total:
            out[rid] = total / len(terms)
    return out


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
    store: ArchiveStore, q: Query, terms: Sequence[FindingTerm], ments: Mentions, ids: Sequence[int]
) -> set[int]:
    """The reports that write the query's whole phrase in the sentence of a mention that
    matches every attribute asked and that the reader reads as present (or uncertain,
    for an ``uncertain:`` query)."""
    phrase = query_phrase(q)
    if phrase is None or not terms:
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
    for rid in ids:
        sentences = []
        for t, status, fset in asks:
            sentences += [m.sentence for m in _matching(t, ments.get(rid, []), status, fset)]
        if sentences:
            candidates[rid] = sentences
    if not candidates:
        return set()
    texts = {rid: r.text for rid, r in store.reports(list(candidates)).items()}
    return {
        rid
        for rid, spans in candidates.items()
        if any(pattern.search(texts.get(rid, "")[a:b]) for a, b in spans)
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

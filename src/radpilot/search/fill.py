"""After the reader's matches of a sided or plain finding query: which candidates match
only through a bilateral mention (ranked after those written on the side asked), and the
fill from the query's words where the reader found fewer reports than asked for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from radpilot.search.analysis import answering_sides, bilateral_words, side_words
from radpilot.search.freewords import (
    locations_in,
    said_together,
    sideless_on,
    stated_only,
)
from radpilot.search.models import CandidateQuery
from radpilot.search.query import FindingTerm, Polarity, Query
from radpilot.search.store import ArchiveStore
from radpilot.search.vocab import family
from radpilot.search.wordshare import spellings

_WORD = re.compile(r"\w", re.UNICODE)
SCORING = (Polarity.ANY, Polarity.PRESENT, Polarity.UNCERTAIN)  # a term the ranking scores

Ranked = list[tuple[float, int, dict[str, float]]]  # (score, rowid, score parts)


def fts_expression(words: Sequence[str], op: str = "OR") -> str | None:
    """An FTS5 expression of quoted words/phrases (quoting keeps user text literal)."""
    terms = ['"' + w.replace('"', '""') + '"' for w in words if _WORD.search(w)]
    return f" {op} ".join(terms) if terms else None


def bilateral_only(store: ArchiveStore, cq: CandidateQuery, ids: Sequence[int]) -> set[int]:
    """The candidates of a one-sided query that match only through a bilateral mention
    (``analysis.answering_sides``): the same candidate query with the side as written.
    Both queries rank by the same stored score, so a candidate the strict one leaves out
    of its top ``limit`` has no mention written on that side."""
    clauses = [c for c in (cq.drive, *cq.required) if c is not None]
    if not any(c.sides != c.sides[:1] for c in clauses):
        return set()
    strict = replace(
        cq,
        drive=replace(cq.drive, bilateral_answers=False) if cq.drive else None,
        required=tuple(replace(c, bilateral_answers=False) for c in cq.required),
    )
    written = {rid for rid, _ in store.candidates(strict)}
    return {rid for rid in ids if rid not in written}


def lexical_fill(
    store: ArchiveStore, q: Query, cq: CandidateQuery, seen: set[int], limit: int
) -> Ranked:
    """When the reader found a plain finding query's finding in fewer reports than asked
    for, the rest of the page comes from the query's own words, ranked by BM25 as plain
    full-text search would, after every finding match: a wording the reader missed
    ("blunting of the costophrenic XXXX", redacted) is still found, so a finding query
    never returns less than words would. Only reports where the reader read nothing of
    the finding's family (itself, its subtypes, and its parent's when they share a label)
    are added: one where it read the finding negated, uncertain, on the other side or at
    another site ("rib", not "clavicle") has been judged, and the judgement stands; a
    query with a change or a place is not filled (words cannot tell them). A sided query
    is filled where the report writes the side's word: first the reports where the
    reader read the finding present with no side at all and a mention's sentence writes
    the side ("The left hemidiaphragm is mildly elevated": the reader knows the finding,
    not its side), then the words, the side and two of the others in one sentence that
    states them (``freewords.sideless_on``, ``said_together``). The words must be stated
    (``analysis.asserted_text``) and every constraint of the query (exclusions, filters)
    applies."""
    terms = [t for t in q.findings if t.polarity in SCORING]
    if not terms or any(t.polarity is not Polarity.ANY or t.change or t.location for t in terms):
        # "+x", "uncertain:x", a change or a place ask for the reader's judgement of
        # the finding: words cannot say whether a missed finding is new.
        return []
    sides = sorted({t.laterality.value for t in terms if t.laterality})
    # The side asked must be written, beside one of the other words ("left" alone is no
    # elevated left hemidiaphragm).
    words = [w for t in terms for w in t.text.split() if w.lower() not in sides]
    words += list(q.words)
    fill = _Fill(store, q, cq, terms, words, len(words) - len(q.words))
    need = max(0, limit - len(seen))
    # The side as any of the reader's words for it ("both" for bilateral), which a query
    # word may be ("biapical" of "biapical scarring").
    together = not sides and len({w.lower() for w in words}) > 1
    keep = fill.ranked([list(side_words(s)) for s in sides], seen, need, together=together)
    if together and len(keep) < need:
        # Then any report that states the words, in BM25 order.
        keep += fill.ranked([], seen | {rid for rid, _ in keep}, need - len(keep))
    if len(sides) == 1 and answering_sides(sides[0])[1:] and len(keep) < need:
        # A bilateral finding is on the side asked too ("Bilateral costophrenic XXXX
        # blunting" answers the right one): after every report that writes the side.
        seen = seen | {rid for rid, _ in keep}
        keep += fill.ranked([list(bilateral_words())], seen, need - len(keep))
    top = max((score for _, score in keep), default=0.0) or 1.0
    return [
        (0.0, rid, {"finding": 0.0, "lexical": score / top, "semantic": 0.0})
        for rid, score in keep[:need]
    ]


@dataclass(frozen=True)
class _Fill:
    """One finding query's words fill (``lexical_fill``): its terms, its words (the
    finding's own first, ``named`` of them) and each word's spellings."""

    store: ArchiveStore
    q: Query
    cq: CandidateQuery
    terms: list[FindingTerm]
    words: list[str]
    named: int

    def ranked(
        self, sides: Sequence[Sequence[str]], seen: set[int], need: int, together: bool = False
    ) -> list[tuple[int, float]]:
        """The reports the words answer, each with its BM25 score, best first; a sided
        query (``sides``: each side as any of its words) takes those where a sentence
        writes the side beside the words, after the reader's side-less matches whose
        words write it. ``together``: a side-less query of two words or more takes only
        the reports one sentence of which states two of them ("biapical
        pleural-peripheral scarring" for "pleural scarring"), which BM25 ranks after
        reports that repeat one word ("scarring" three times, "pleural" in "no pleural
        effusion")."""
        store, terms, words = self.store, self.terms, self.words
        # A sided fill reads each word in its other forms too ("calcified" for
        # "calcification", ``wordshare.forms``), as the ranking of the reader's matches does.
        spelled = [spellings(w) for w in words]
        fts = _two_of(spelled) if sides or together else fts_expression(words)
        if fts is None or need <= 0:
            return []
        for alts in sides:
            fts = f"({fts}) AND ({fts_expression(alts)})"
        fq = replace(self.cq, drive=None, required=(), fts=fts)
        # BM25 order: the best few times what is missing are enough to choose from.
        best = [(rid, s) for rid, s in store.candidates(fq) if rid not in seen]
        cands = dict(sorted(best, key=lambda kv: (-kv[1], -kv[0]))[: max(50, 5 * need)])
        if not cands:
            return []
        stated = stated_only(store, words, store.lexical_scores(list(cands), words, asserted=True))
        fam = sorted({f for t in terms for f in family(t.finding)})
        judged = store.finding_status(list(cands), fam)
        sideless: set[int] = set()
        share: dict[int, float] = {}
        if sides:
            asked = [s for alts in sides for s in alts]
            if all(t.laterality is None or t.laterality.value in asked for t in terms):
                sideless = sideless_on(store, [r for r in stated if r in judged], terms, fam)
            # The side beside the words, in one sentence that states them.
            fresh = said_together(
                store, [r for r in cands if r not in judged], spelled, sides, self.named
            )
        elif together:
            ordered, first = _unplaced_first(words, self.named)
            fresh = said_together(
                store,
                [r for r in cands if r not in judged],
                [spellings(w) for w in ordered],
                [],
                first,
            )
            # By the share of the words each states (IDF-weighted), then BM25: the words
            # of two are no whole answer.
            share = {rid: stated.get(rid, 0.0) for rid in fresh}
        else:
            fresh = {rid for rid in stated if rid not in judged}
        keep = sorted(
            sideless | fresh,
            key=lambda r: (-(r in sideless), -share.get(r, 0.0), -cands[r], -r),
        )
        return [(rid, cands[rid]) for rid in keep[:need]]


def _unplaced_first(words: Sequence[str], named: int) -> tuple[list[str], int]:
    """The words with the finding's own words that name no place first, and how many
    those are (all of the finding's, where each names a place): a sentence that states
    the place alone ("The costophrenic angles are sharp") is no "blunted costophrenic
    angle", so one of the sentence's words must be "blunted"."""
    own = list(words[:named])
    _, rest = locations_in(own)
    first = [w for w in own if w in rest]
    if not first:
        return list(words), named
    return [*first, *(w for w in words if w not in first)], len(first)


def _two_of(words: Sequence[Sequence[str]]) -> str | None:
    """An FTS5 expression of any two of the words, each as any of its spellings (one
    word: itself): "apical pleural thickening" is not answered by "pleural" beside a side
    word of another finding ("Small left pleural effusion"), "blunting of the
    costophrenic XXXX" still is."""
    groups = list(dict.fromkeys(g for w in words if (g := fts_expression(w))))
    if len(groups) < 2:
        return groups[0] if groups else None
    return " OR ".join(f"(({a}) AND ({b}))" for i, a in enumerate(groups) for b in groups[i + 1 :])

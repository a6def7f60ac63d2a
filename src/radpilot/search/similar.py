"""``radpilot similar``: the reports most like one report.

With embeddings: the nearest vectors propose, and shared present findings re-rank
(embeddings barely see "left" versus "right"). Without: reports sharing its present
findings or its salient words, ranked by the Jaccard of present findings plus the words'
score. Both hold negation: the vectors and the words are those of what each report states
(``analysis.asserted_text``), and only present findings are shared, so a report that says
"no pneumothorax" is not like one that has it.
"""

from __future__ import annotations

import re

from radpilot.errors import InputError
from radpilot.search.config import ranking
from radpilot.search.engine import Ranked, SearchResult, fts_expression, hits_for
from radpilot.search.models import CandidateQuery, FindingClause
from radpilot.search.query import FindingTerm, Polarity, Query
from radpilot.search.store import ArchiveStore

_STOP = frozenset(
    "the and with without there are is of no or to in on for as at be by this that was were "
    "has have from an a any not seen noted again since which findings impression comparison "
    "indication".split()
)


def similar(
    store: ArchiveStore, report_id: str, *, limit: int = 10, semantic: bool = True
) -> SearchResult:
    """Reports most like one report: embeddings when present, else findings + words."""
    from radpilot.search import semantic as sem

    src = store.get(report_id)
    if src is None:
        raise InputError(f"no report with that id in {store.location}")
    if limit < 1:
        raise InputError(f"limit must be 1 or more, got {limit}")
    q = Query(raw="similar")
    present = set(store.present_findings([src.rowid]).get(src.rowid, []))
    if semantic and store.embedding_count(sem.MODEL_NAME):
        vec = store.embeddings_for(sem.MODEL_NAME, [src.rowid]).get(src.rowid)
        if vec is not None:
            top = dict(sem.scan(store, vec, max(limit * 5, 50), exclude=src.rowid))
            ranked = _by_findings(store, present, top, ranking().weights.similar_findings)
            return SearchResult(q, hits_for(store, q, ranked[:limit], _shared(present)), "used")
    ranked = _without_embeddings(store, src.rowid, present)
    state = "absent" if semantic else "off"
    return SearchResult(q, hits_for(store, q, ranked[:limit], _shared(present)), state)


def _by_findings(
    store: ArchiveStore, present: set[str], cosines: dict[int, float], weight: float
) -> Ranked:
    theirs = store.present_findings(list(cosines))
    ranked = []
    for rid, cos in cosines.items():
        jac = _jaccard(present, set(theirs.get(rid, [])))
        ranked.append((cos + weight * jac, rid, {"semantic": cos, "finding": jac}))
    ranked.sort(key=lambda x: (-x[0], -x[1]))
    return ranked


def _without_embeddings(store: ArchiveStore, rowid: int, present: set[str]) -> Ranked:
    cfg = ranking()
    cands: dict[int, float] = {}
    if present:
        cq = CandidateQuery(
            drive=FindingClause(tuple(sorted(present)), ("present",)), limit=cfg.candidates
        )
        cands.update(store.candidates(cq))
    words = salient_words(store.asserted_texts([rowid]).get(rowid, ""))
    fts = fts_expression(words)
    if fts:
        for rid, _ in store.candidates(CandidateQuery(fts=fts, limit=cfg.candidates)):
            cands.setdefault(rid, 0.0)
    cands.pop(rowid, None)
    ids = list(cands)
    their = store.present_findings(ids)
    # In [0, 1] already; asserted: a word of a negated finding is no likeness.
    lex = store.lexical_scores(ids, words, asserted=True) if words else {}
    scored = []
    for rid in ids:
        parts = {
            "finding": _jaccard(present, set(their.get(rid, []))),
            "lexical": lex.get(rid, 0.0),
        }
        scored.append((parts["finding"] + cfg.weights.lexical * parts["lexical"], rid, parts))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    return [s for s in scored if s[0] > 0]


def _shared(present: set[str]) -> list[FindingTerm]:
    """The source report's present findings, as the evidence to show on each hit."""
    return [FindingTerm(f, Polarity.PRESENT, text=f.replace("_", " ")) for f in sorted(present)]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def salient_words(text: str, n: int = 12) -> list[str]:
    """The report's most frequent longer words, stopwords left out.

    >>> salient_words("Left effusion. Left effusion and small left apical pneumothorax.")[:3]
    ['left', 'effusion', 'pneumothorax']
    """
    counts: dict[str, int] = {}
    for w in re.findall(r"[a-z]{4,}", text.lower()):
        if w not in _STOP:
            counts[w] = counts.get(w, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0])))[:n]]

"""Hybrid search: finding match + BM25 + (when embeddings exist) semantic similarity.

    score = w_finding * finding + w_lexical * lexical + w_semantic * semantic

``finding`` is the report's stored finding score (present > uncertain, bonuses for the
impression and repeated mentions; see ``data/ranking.json``), averaged over the query's
findings; ``lexical`` is FTS5 BM25 over the query's free words, scaled to [0, 1] among
the candidates; ``semantic`` is the cosine of query and report embeddings. Candidates
come from an index (findings, full text or embeddings) so the cost does not grow with
the archive; every constraint (negation, filters, exclusions) is applied in the index
query, never after ranking.

Negation holds in every path: a finding matches where it is present or uncertain only;
free words count only where the report states them (not in a negated or context
sentence: ``analysis.asserted_text``), and embeddings are made of that same asserted text,
so "collapsed lung" does not find "No pneumothorax." and ``similar`` does not pair a
report with one that negates its findings.

Sides: a one-sided query ("right pleural effusion") is answered by the mentions written on
that side (or with a word naming a site on each side: "bibasilar"), then by bilateral ones
("bilateral effusions" hold a right one: ``analysis.answering_sides``), in the same order
among themselves, then by the side-less fills (``fill.lexical_fill``); a bilateral query is
answered by bilateral mentions only. A place asked comes first: a bilateral mention at it
ranks before a one-sided one placed only elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from radpilot.errors import InputError
from radpilot.search.config import RankingFile, ranking
from radpilot.search.fill import SCORING, Ranked, bilateral_only, fts_expression, lexical_fill
from radpilot.search.freewords import (
    Near,
    attributes_hold,
    drop_negated,
    near_evidence,
    placed_elsewhere,
    stated_only,
    term_places,
)
from radpilot.search.models import (
    CandidateQuery,
    Filters,
    FindingClause,
    StoredMention,
    StoredReport,
)
from radpilot.search.query import FindingTerm, Polarity, Query, check_text, parse_query
from radpilot.search.store import ArchiveStore
from radpilot.search.vocab import broader, expand, using
from radpilot.search.wordshare import (
    Texts,
    literal,
    reads_words,
    stated_phrase,
    word_share,
)

if TYPE_CHECKING:
    from radpilot.reports.vocabulary import Vocabulary

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w", re.UNICODE)
_NOWHERE = Near()  # no free word of the query near the evidence (``near_evidence``)
_STATUSES = {
    Polarity.ANY: ("present", "uncertain"),
    Polarity.PRESENT: ("present",),
    Polarity.UNCERTAIN: ("uncertain",),
    Polarity.ABSENT: ("absent",),
}


@dataclass(frozen=True, slots=True)
class Weights:
    finding: float
    lexical: float
    semantic: float

    @classmethod
    def default(cls) -> Weights:
        w = ranking().weights
        return cls(w.finding, w.lexical, w.semantic)


@dataclass(frozen=True, slots=True)
class Hit:
    report: StoredReport
    score: float
    parts: dict[str, float]
    mentions: tuple[StoredMention, ...] = ()  # the evidence for the query's findings
    text_spans: tuple[tuple[int, int], ...] = ()  # where the free words occur
    uncertain: bool = False
    # A finding query's hit found by its words where the reader read nothing of the
    # finding (the fill after every reader match): shown as such, never as a finding.
    words_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        text = r.text
        return {
            "id": r.id,
            "score": round(self.score, 4),
            "uncertain": self.uncertain,
            "words_only": self.words_only,
            "patient_id": r.patient_id,
            "study_date": r.study_date,
            "modality": r.modality,
            "body_part": r.body_part,
            "version": r.version,
            "scores": {k: round(v, 4) for k, v in self.parts.items()},
            "findings": [
                {
                    "finding": m.finding,
                    "certainty": m.certainty,
                    "status": m.status,
                    "laterality": m.laterality,
                    "change": m.change,
                    "locations": list(m.locations),
                    "section": m.section,
                    "historical": m.historical,
                    "span": _span(text, *m.span),
                    "sentence": _span(text, *m.sentence),
                }
                for m in self.mentions
            ],
            "text_matches": [_span(text, a, b) for a, b in self.text_spans],
        }


def _span(text: str, start: int, end: int) -> dict[str, Any]:
    return {"start": start, "end": end, "text": text[start:end]}


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: Query
    hits: tuple[Hit, ...]
    semantic: str  # "used", "absent" (no embeddings), "off"
    notes: tuple[str, ...] = field(default=())


def _statuses(t: FindingTerm) -> tuple[str, ...]:
    base = _STATUSES[t.polarity]
    if t.change is not None and t.change.value == "resolved" and t.polarity is not Polarity.ABSENT:
        base = (*base, "absent")  # a resolved finding is stored as absent now
    return base


def _clause(t: FindingTerm) -> FindingClause:
    return FindingClause(
        findings=expand(t.finding),
        statuses=_statuses(t),
        laterality=t.laterality.value if t.laterality else None,
        change=t.change.value if t.change else None,
        location=t.location,
    )


def _filters(q: Query) -> Filters:
    return Filters(q.since, q.until, q.patient, q.modality, q.body_part)


def _parsed(query: str | Query) -> tuple[Query, list[str]]:
    if isinstance(query, str):
        q = parse_query(query)
    else:
        q = query
        check_text(q.to_string())  # a Query built in code, not parsed
    notes = []
    if q.ignored:
        shown = ", ".join(repr(t) for t in q.ignored[:5])
        notes.append(f"ignored {shown}: no letter or digit to search for")
    if q.is_empty:
        what = "has no letter or digit to search for" if q.ignored else "is empty"
        raise InputError(f"query {what}: name a finding, words or a filter (e.g. 'pneumothorax')")
    return q, notes


def _candidate_query(q: Query, n_cand: int) -> CandidateQuery:
    scoring = [t for t in q.findings if t.polarity in SCORING]
    absent = [t for t in q.findings if t.polarity is Polarity.ABSENT]
    drive_terms = scoring or absent
    return CandidateQuery(
        drive=_clause(drive_terms[0]) if drive_terms else None,
        fts=None if drive_terms else fts_expression(q.words),
        required=tuple(_clause(t) for t in drive_terms[1:] + (absent if scoring else [])),
        excluded_findings=tuple(
            f for t in q.findings if t.polarity is Polarity.EXCLUDE for f in expand(t.finding)
        ),
        excluded_fts=fts_expression(q.excluded_words),
        filters=_filters(q),
        limit=n_cand,
    )


def _candidates(store: ArchiveStore, q: Query, cq: CandidateQuery, limit: int) -> dict[int, float]:
    if cq.fts and len(q.words) > 1:
        # All words first (cheap even over common words, and what people mean); any word
        # only to fill up. OR over a word in most reports would score most of the archive.
        cands = dict(store.candidates(replace(cq, fts=fts_expression(q.words, "AND"))))
        if len(cands) < limit:
            for rid, s in store.candidates(cq):
                cands.setdefault(rid, s)
        return cands
    return dict(store.candidates(cq))


def search(
    store: ArchiveStore,
    query: str | Query,
    *,
    limit: int = 20,
    weights: Weights | None = None,
    semantic: bool = True,
    vocabulary: Vocabulary | None = None,
) -> SearchResult:
    """Rank the archive's reports for a query (see ``radpilot.search.query`` for syntax).
    ``vocabulary``: the user's merged vocabulary the archive was built with (query words
    resolve to its findings); None for the packaged one."""
    with using(vocabulary):
        return _search(store, query, limit=limit, weights=weights, semantic=semantic)


def _search(
    store: ArchiveStore,
    query: str | Query,
    *,
    limit: int,
    weights: Weights | None,
    semantic: bool,
    fills: bool = True,
) -> SearchResult:
    q, notes = _parsed(query)
    if limit < 1:
        raise InputError(f"limit must be 1 or more, got {limit}")
    cfg = ranking()
    w = weights or Weights.default()
    scoring = [t for t in q.findings if t.polarity in SCORING]
    absent = [t for t in q.findings if t.polarity is Polarity.ABSENT]
    n_cand = max(cfg.candidates, limit * 3)
    cq = _candidate_query(q, n_cand)
    cands = _candidates(store, q, cq, limit)
    sem_state, sem_scores = "off", dict[int, float]()
    if semantic and w.semantic > 0:
        sem_state, sem_scores, extra = _semantic(store, q, cq, cands, n_cand, cfg)
        notes.extend(extra)
    lex = _lexical(store, q, cq, cands)
    if cq.fts:
        # A words-only query: a report that states none of the words (they are only in
        # its negated sentences) is no answer, however BM25 scored its raw text.
        cands = {rid: s for rid, s in cands.items() if rid in lex or rid in sem_scores}
    ids = list(cands)
    if not ids:
        # No reader match: a finding query is still answered by its words, as below.
        hits = _filled(store, q, cq, [], limit, w, semantic) if fills else ()
        return SearchResult(q, hits, sem_state, tuple(notes))
    f_scores, tier = _finding_scores(store, ids, scoring, cfg)
    scored = _weighted(ids, f_scores, lex, sem_scores, w)
    wanted = sorted({f for t in scoring for f in expand(t.finding)})
    # Ranking reads only what a report states (negated mentions never answer).
    live = ("present", "uncertain")
    # The free words, or a place the finding's own words write ("calcified mediastinal
    # lymph nodes"), are read near the evidence.
    placing = bool(q.words) or any(term_places(t) for t in scoring)
    ments = store.mentions(ids, wanted, live) if wanted and placing else {}
    near = near_evidence(store, q, scoring, ids, ments) if placing and scoring else {}
    # The query's own words in the evidence reorder the best candidates of each tier:
    # a few pages of them, not every candidate (at scale, most of a finding's 400).
    near_all = {rid: sum(n) for rid, n in near.items()}
    where = _where(store, q, cq, scoring, ids, near, ments)
    best = sorted(
        scored,
        key=lambda x: (where[x[1]], tier.get(x[1], 0), -near_all.get(x[1], 0.0), -x[0], -x[1]),
    )
    head = [rid for _, rid, _ in best[: max(cfg.words_rerank, 5 * limit)]]
    phrase: set[int] = set()
    share: dict[int, float] = {}
    if wanted and reads_words(q, scoring):
        if not placing:
            ments = store.mentions(head, wanted, live)
        texts = Texts(store)
        phrase = stated_phrase(q, scoring, {r: ments[r] for r in head if r in ments}, texts)
        share = word_share(scoring, ments, texts, head)

    # After the place asked, uncertain matches rank below certain ones, whatever their
    # other scores; then the reports that write the query's whole phrase where the
    # finding is present, then those whose mention is at more of the places the free
    # words name, then those whose mention has the degree asked ("mildly", "multiple"),
    # then those whose mention holds more of its finding words (its own words, not a
    # synonym or roll-up), then those whose evidence sentence states the other free words
    # (a qualifier: "focal").
    def rank(x: tuple[float, int, dict[str, float]]) -> tuple[float, ...]:
        rid = x[1]
        return (
            where[rid],
            tier.get(rid, 0),
            -(rid in phrase),
            -near.get(rid, _NOWHERE).places,
            -near.get(rid, _NOWHERE).degree,
            -share.get(rid, 0.0),
            -near.get(rid, _NOWHERE).words,
            -x[0],
            -rid,
        )

    scored.sort(key=rank)
    if q.words and not cq.fts and lex:
        _restate_lexical(store, q.words, lex, scored, limit, w.lexical)
        scored.sort(key=rank)
    if cq.fts:
        # A words-only query: a report that writes the words only negated ("No goiter.")
        # is no answer; read in rank order, about a page of reports.
        dropped = drop_negated(store, q.words, [rid for _, rid, _ in scored], limit)
        scored = [x for x in scored if x[1] not in dropped]
    if fills:
        hits = _filled(store, q, cq, scored, limit, w, semantic)
    else:
        hits = hits_for(store, q, scored[:limit], scoring + absent)
    return SearchResult(q, hits, sem_state, tuple(notes))


def _filled(
    store: ArchiveStore,
    q: Query,
    cq: CandidateQuery,
    scored: Ranked,
    limit: int,
    w: Weights,
    semantic: bool,
) -> tuple[Hit, ...]:
    """The page: the reader's matches of a finding query, then, where they are fewer than
    asked for, the words (``fill.lexical_fill``: the finding asked, in words the reader
    missed), then the mentions of the broader finding (``_broader_hits``)."""
    scoring = [t for t in q.findings if t.polarity in SCORING]
    terms = scoring + [t for t in q.findings if t.polarity is Polarity.ABSENT]
    if len(scored) >= limit or not scoring or cq.fts:
        return hits_for(store, q, scored[:limit], terms)
    seen = {rid for _, rid, _ in scored}
    rest = lexical_fill(store, q, cq, seen, limit)
    hits = hits_for(store, q, [*scored, *rest], terms)
    if len(hits) >= limit:
        return hits[:limit]
    seen |= {rid for _, rid, _ in rest}
    return (*hits, *_broader_hits(store, q, seen, limit - len(hits), w, semantic))


def _broader_hits(
    store: ArchiveStore, q: Query, seen: set[int], need: int, w: Weights, semantic: bool
) -> tuple[Hit, ...]:
    """Where the reader's matches of a finding are fewer than asked for, the mentions of
    the finding it is a kind of (``vocab.broader``: same CheXpert label), with every other
    constraint of the query (side, place, change, filters): "left PICC line" is then
    answered by "left subclavian central venous catheter", after every PICC. Only the
    broader finding's own mentions, never its other kinds (a lung mass is no lung
    nodule), and only one step up."""
    terms = []
    wide = set()
    for t in q.findings:
        up = broader(t.finding) if t.polarity in SCORING else None
        terms.append(replace(t, finding=up) if up else t)
        wide |= {up} if up else set()
    if not wide:
        return ()
    # The broader query holds the first's matches and the other kinds too: a few pages.
    got = _search(
        store,
        replace(q, findings=tuple(terms)),
        limit=len(seen) + 3 * need,
        weights=w,
        semantic=semantic,
        fills=False,
    )
    keep = [
        h
        for h in got.hits
        if h.report.rowid not in seen and any(m.finding in wide for m in h.mentions)
    ]
    return tuple(keep[:need])


def _where(
    store: ArchiveStore,
    q: Query,
    cq: CandidateQuery,
    scoring: list[FindingTerm],
    ids: list[int],
    near: dict[int, Near],
    ments: dict[int, list[StoredMention]],
) -> dict[int, int]:
    """Each candidate's rank by place and side. A place the query names is a constraint,
    as its side: the matches at it first, then those the reader placed nowhere, then
    those it placed only elsewhere. Within each, a bilateral match of a one-sided query
    follows those written on the side asked: "scarring at the lung bases" is a right
    lower lobe scarring, "right apical scarring" is not."""
    off = placed_elsewhere(q, scoring, ments) if ments else set()
    where = {rid: _placed(near.get(rid, _NOWHERE), rid in off) for rid in ids}
    for rid in bilateral_only(store, cq, ids):
        where[rid] += 1
    return where


def _placed(near: Near, elsewhere: bool) -> int:
    """A candidate's rank by place, before its side: at the place as written, then only at
    a place that answers it (``near_locations``: "apical" for "upper lobe"), then placed
    nowhere, then only elsewhere. Steps of two leave room for the side."""
    if near.places:
        return 0 if near.written else 2
    return 6 if elsewhere else 4


def _weighted(
    ids: Sequence[int],
    f_scores: dict[int, float],
    lex: dict[int, float],
    sem: dict[int, float],
    w: Weights,
) -> Ranked:
    """Each candidate's weighted score and its parts (see the module doc)."""
    out: Ranked = []
    for rid in ids:
        parts = {
            "finding": f_scores.get(rid, 0.0),
            "lexical": lex.get(rid, 0.0),
            "semantic": sem.get(rid, 0.0),
        }
        total = (
            w.finding * parts["finding"]
            + w.lexical * parts["lexical"]
            + w.semantic * parts["semantic"]
        )
        out.append((total, rid, parts))
    return out


def _restate_lexical(
    store: ArchiveStore,
    words: Sequence[str],
    lex: dict[int, float],
    scored: list[tuple[float, int, dict[str, float]]],
    limit: int,
    weight: float,
) -> None:
    """The page's reports are read for words they write only negated ("No goiter."): those
    words' share leaves their lexical score (in place; the caller ranks the page again)."""
    top = [rid for _, rid, parts in scored[:limit] if parts["lexical"] > 0]
    judged = stated_only(store, words, {rid: lex[rid] for rid in top})
    for i, (total, rid, parts) in enumerate(scored[:limit]):
        if rid in judged or rid in top:
            new = judged.get(rid, 0.0)
            if new != parts["lexical"]:
                scored[i] = (
                    total + weight * (new - parts["lexical"]),
                    rid,
                    {**parts, "lexical": new},
                )


def _finding_scores(
    store: ArchiveStore, ids: list[int], scoring: list[FindingTerm], cfg: RankingFile
) -> tuple[dict[int, float], dict[int, int]]:
    """Per report: the mean stored score of the query's findings (+ the literal bonus),
    and tier 1 where a finding asked for matched only as uncertain."""
    f_scores: dict[int, float] = {}
    tier: dict[int, int] = {}
    if not scoring:
        return f_scores, tier
    all_f = sorted({f for t in scoring for f in expand(t.finding)})
    status = store.finding_status(ids, all_f)
    for rid in ids:
        found = status.get(rid, {})
        total = 0.0
        for t in scoring:
            live = [found[f] for f in expand(t.finding) if f in found]
            # The best of the family, not their sum: a report naming three kinds of
            # device is no better an answer to "catheter" than one naming a catheter.
            total += max((sc for st, sc in live if st in ("present", "uncertain")), default=0.0)
            if t.polarity is Polarity.ANY and not any(st == "present" for st, _ in live):
                tier[rid] = 1
        f_scores[rid] = total / len(scoring)
    if cfg.bonus.literal:
        for rid, bonus in literal(store, ids, scoring).items():
            f_scores[rid] = f_scores.get(rid, 0.0) + cfg.bonus.literal * bonus
    return f_scores, tier


def _lexical(
    store: ArchiveStore, q: Query, cq: CandidateQuery, cands: dict[int, float]
) -> dict[int, float]:
    """The free words' score per candidate, from what each report states (and, for a
    word that is no finding, asserts: ``freewords.stated_only``)."""
    if not fts_expression(q.words):
        return {}
    top = max(cands.values(), default=0.0) if cq.fts else 0.0
    if top > 0 and cq.fts:  # a lexical drive: FTS5 BM25 of the drive query, scaled by the best
        stated = store.stated_matches([k for k, v in cands.items() if v > 0], cq.fts)
        return {k: v / top for k, v in cands.items() if k in stated}  # see drop_negated
    # With a finding the words only add to its score: the page is read for negated
    # words once ranked (``_search``).
    return store.lexical_scores(list(cands), q.words)


def _semantic(
    store: ArchiveStore,
    q: Query,
    cq: CandidateQuery,
    cands: dict[int, float],
    n_cand: int,
    cfg: RankingFile,
) -> tuple[str, dict[int, float], list[str]]:
    from radpilot.search import semantic as sem

    n = store.embedding_count(sem.MODEL_NAME)
    if n == 0:
        return (
            "absent",
            {},
            ["no embeddings in this archive: run `radpilot archive embed` for semantic ranking"],
        )
    text = " ".join(
        [t.text for t in q.findings if t.polarity is not Polarity.EXCLUDE] + list(q.words)
    )
    if not text.strip():
        return "off", {}, []
    qv = sem.encode([text])[0]
    notes: list[str] = []
    constrained = (
        cq.drive is not None or cq.excluded_findings or cq.excluded_fts or cq.filters != Filters()
    )
    if not constrained:
        # Free text only: embeddings also propose candidates that share no word with the query.
        if n <= cfg.semantic_scan_max:
            for rid, _ in sem.scan(store, qv, n_cand):
                cands.setdefault(rid, 0.0)
        else:
            notes.append(
                f"{n} embeddings: semantic used for re-ranking only (scan limit {cfg.semantic_scan_max})"
            )
    vecs = store.embeddings_for(sem.MODEL_NAME, list(cands))
    return "used", {rid: max(0.0, float(v @ qv)) for rid, v in vecs.items()}, notes


def hits_for(
    store: ArchiveStore, q: Query, ranked: Ranked, terms: Sequence[FindingTerm]
) -> tuple[Hit, ...]:
    ids = [rid for _, rid, _ in ranked]
    reports = store.reports(ids)
    wanted = sorted({f for t in terms for f in expand(t.finding)})
    ments = store.mentions(ids, wanted) if wanted else {}
    out = []
    for total, rid, parts in ranked:
        rep = reports[rid]
        evidence: list[StoredMention] = []
        uncertain = False
        for t in terms:
            fset, sts = set(expand(t.finding)), set(_statuses(t))
            ms = [
                m
                for m in ments.get(rid, [])
                if m.finding in fset and m.status in sts and attributes_hold(t, m)
            ]
            if t.polarity is Polarity.ANY and ms and all(m.status == "uncertain" for m in ms):
                uncertain = True
            evidence.extend(sorted(ms, key=lambda m: m.span))  # the query's order of findings
        words_only = bool(terms) and not evidence
        words = (
            [w for t in terms for w in t.text.split()] + list(q.words) if words_only else q.words
        )
        spans = _text_spans(rep.text, words)
        out.append(Hit(rep, total, parts, tuple(evidence), spans, uncertain, words_only))
    return tuple(out)


def _text_spans(text: str, words: Sequence[str], max_spans: int = 5) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for w in words:
        if not _WORD.search(w):
            continue
        pattern = r"\b" + r"\s+".join(re.escape(p) for p in w.split()) + r"\w*"
        for m in re.finditer(pattern, text, re.IGNORECASE):
            spans.append((m.start(), m.end()))
            if len(spans) >= max_spans:
                break
    return tuple(sorted(spans)[:max_spans])


def hits_to_json(result: SearchResult) -> list[dict[str, Any]]:
    """The ``--json`` output: a list, best first."""
    return [h.to_dict() for h in result.hits]

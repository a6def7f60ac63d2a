"""What the archive keeps of the report reader's output, per report.

The reader (``radpilot.reports.read``) runs once per report at ingest. Its mentions are
flattened into rows, and each finding gets one status per report so that search can
ask "present, not negated" with an index instead of re-reading text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from radpilot.reports.models import Certainty, Change, Laterality, Mention, Report
from radpilot.reports.policy import unchanged_only
from radpilot.reports.vocabulary import Vocabulary, normalize_term
from radpilot.search.config import query_words, ranking

# Mentions in these sections are the question or the past, not this study's finding:
# "INDICATION: rule out pneumothorax" must never make a report match "pneumothorax".
CONTEXT_SECTIONS = frozenset({"indication", "history", "comparison", "technique", "examination"})


class FindingStatus(StrEnum):
    """A finding's status in one report (the strongest of its mentions)."""

    PRESENT = "present"
    UNCERTAIN = "uncertain"
    ABSENT = "absent"
    # named only as indication, history or hypothesis, or under another body region of a
    # combined examination ("Right knee: small effusion"): no chest finding of this report
    CONTEXT = "context"


_PRIORITY = {
    FindingStatus.PRESENT: 3,
    FindingStatus.UNCERTAIN: 2,
    FindingStatus.ABSENT: 1,
    FindingStatus.CONTEXT: 0,
}


def mention_status(m: Mention) -> FindingStatus:
    # "The mediastinum is stable" says the anatomy is as it was: no finding to search for,
    # as it sets no label under radpilot's policy (``policy.unchanged_only``)
    if m.section in CONTEXT_SECTIONS or m.hypothetical or m.region is not None:
        return FindingStatus.CONTEXT
    if unchanged_only(m):
        return FindingStatus.CONTEXT
    if m.certainty is Certainty.ABSENT or m.change is Change.RESOLVED:
        return FindingStatus.ABSENT
    if m.certainty is Certainty.UNCERTAIN:
        return FindingStatus.UNCERTAIN
    return FindingStatus.PRESENT


Span = tuple[int, int]

# One stored mention: (finding, status, certainty, laterality, locations, change, section,
# span_start, span_end, sentence_start, sentence_end, historical, span text lower-cased,
# written sides: ``written_sides``)
MentionRow = tuple[
    str, str, str, str | None, str, str | None, str, int, int, int, int, int, str, str
]
# One stored per-report finding: (finding, status, score)
FindingRow = tuple[str, str, float]


@dataclass(frozen=True, slots=True)
class Analysis:
    mentions: tuple[MentionRow, ...]
    findings: tuple[FindingRow, ...]
    labels_json: str
    tags: str = ""  # finding tokens for the conjunctive index, see ``finding_tags``


def locations_field(locations: tuple[str, ...]) -> str:
    """``|a|b|`` so that one location is found with ``LIKE '%|a|%'``-style matching."""
    return "|" + "|".join(loc.lower() for loc in locations) + "|" if locations else ""


def analyse(report: Report, labels: dict[str, float | None]) -> Analysis:
    """What the archive stores of one read report (in the vocabulary it was read with)."""
    from radpilot.reports.vocabulary import vocabulary_of
    from radpilot.search.vocab import site_children_of

    vocab = vocabulary_of(report)
    children = site_children_of(vocab)
    rows: list[MentionRow] = []
    per_finding: dict[str, list[tuple[FindingStatus, Mention]]] = {}
    for m in report.mentions:
        st = mention_status(m)
        fid = specialise(m.finding, m.locations, children)
        rows.append(
            (
                fid,
                st.value,
                m.certainty.value,
                m.laterality.value if m.laterality else None,
                locations_field(m.locations),
                m.change.value if m.change else None,
                m.section,
                m.span.start,
                m.span.end,
                m.sentence.start,
                m.sentence.end,
                int(m.historical),
                m.span.text.lower(),
                written_sides(
                    m.sentence.text,
                    m.sentence.start,
                    (m.span.start, m.span.end),
                    m.laterality.value if m.laterality else None,
                ),
            )
        )
        per_finding.setdefault(fid, []).append((st, m))
    findings = tuple(
        (fid, *_aggregate(items, _hypothesis_only(vocab, fid, labels)))
        for fid, items in sorted(per_finding.items())
    )
    labels_json = json.dumps(labels, separators=(",", ":"))
    return Analysis(tuple(rows), findings, labels_json, finding_tags(findings, rows))


def tag(finding: str, status: str, *attrs: str) -> str:
    """One token of the finding index: ``pneumothorax__present__left__new``."""
    return "__".join((finding, status, *attrs))


def finding_tags(findings: Iterable[tuple[str, str, float]], mentions: Iterable[MentionRow]) -> str:
    """Tokens that let a full-text index intersect findings ("stable cardiomegaly AND
    granuloma NOT effusion") without touching rows: one per finding with its report-level
    status, and one per mention attribute combination with the mention's status (a side
    for each of its written sides)."""
    return tags_of(findings, [(m[0], m[1], m[13], m[5]) for m in mentions])


def tags_of(
    findings: Iterable[tuple[str, str, float]],
    mentions: Iterable[tuple[str, str, str, str | None]],
) -> str:
    """``finding_tags`` of ``(finding, status, written sides, change)`` mentions."""
    out = {tag(fid, status) for fid, status, _ in findings}
    for fid, status, sides, chg in mentions:
        for lat in sides_of(sides):
            out.add(tag(fid, status, lat))
            if chg:
                out.add(tag(fid, status, lat, chg))
        if chg:
            out.add(tag(fid, status, chg))
    return " ".join(sorted(out))


def sides_field(sides: Iterable[str]) -> str:
    """``|left|right|``: a side is found with ``instr(sides, '|left|')``."""
    got = sorted(set(sides))
    return "|" + "|".join(got) + "|" if got else ""


def sides_of(field: str) -> tuple[str, ...]:
    return tuple(x for x in field.split("|") if x)


def answering_sides(side: str) -> tuple[str, ...]:
    """The written sides that answer a query for ``side``, the one asked first: a
    bilateral finding is on the left and on the right too ("bilateral effusions" hold a
    right one), so it answers a one-sided query, ranked after the mentions written on
    that side (``engine``); a one-sided finding is no bilateral one.

    >>> answering_sides("left"), answering_sides("bilateral")
    (('left', 'bilateral'), ('bilateral',))
    """
    if side in (Laterality.LEFT.value, Laterality.RIGHT.value):
        return (side, Laterality.BILATERAL.value)
    return (side,)


def side_words(side: str) -> tuple[str, ...]:
    """The reader's words for one side, the side's own name first: "left", "left
    sided", "left hemithorax"; for both sides "bilateral", "both", "bibasilar",
    "biapical" (a query word may carry its side: "biapical scarring")."""
    from radpilot.reports.rules import modifiers

    return tuple(dict.fromkeys((side, *modifiers().laterality_words[Laterality(side)])))


def bilateral_words() -> tuple[str, ...]:
    """The reader's words for a finding on both sides, which answer a one-sided query
    too (``answering_sides``)."""
    return side_words(Laterality.BILATERAL.value)


@lru_cache(maxsize=1)
def _bilateral_words() -> tuple[re.Pattern[str], frozenset[str]]:
    """A pattern of the reader's bilateral side words (longest first), and those of them
    that name a site on each side (``query_words.json`` ``each_side_words``)."""
    from radpilot.reports.rules import modifiers

    words = sorted(modifiers().laterality_words[Laterality.BILATERAL], key=len, reverse=True)
    alts = "|".join(r"\s+".join(re.escape(p) for p in w.split()) for w in words)
    return re.compile(rf"\b(?:{alts})\b", re.IGNORECASE), query_words().each_side_words


def written_sides(sentence: str, offset: int, span: Span, laterality: str | None) -> str:
    """The sides a mention is on, as its report writes them (``sides_field``): its
    reader's side, and for a bilateral side written with a word that names a site on
    each side ("bibasilar atelectasis"), the left and the right too, so a sided query
    asks what the report wrote. ``sentence`` is the mention's sentence text, starting at
    ``offset`` in the report; the side word taken is the bilateral one nearest the span.
    Stored data only (no reader): an archive migration computes the same from its rows.

    >>> written_sides("Bibasilar atelectasis.", 10, (20, 31), "bilateral")
    '|bilateral|left|right|'
    >>> written_sides("Bilateral effusions, bibasilar atelectasis.", 0, (0, 19), "bilateral")
    '|bilateral|'
    """
    if laterality is None:
        return ""
    sides = [laterality]
    if laterality == Laterality.BILATERAL.value:
        pattern, each = _bilateral_words()
        start, end = span[0] - offset, span[1] - offset
        best = min(
            pattern.finditer(sentence),
            key=lambda m: max(0, start - m.end(), m.start() - end),
            default=None,
        )
        if best is not None and normalize_term(best[0]) in each:
            sides += [Laterality.LEFT.value, Laterality.RIGHT.value]
    return sides_field(sides)


def specialise(
    finding: str,
    locations: tuple[str, ...],
    sites: dict[str, tuple[tuple[str, str], ...]] | None = None,
) -> str:
    """The site child a general finding's mention names by its location: "fracture" at
    "rib" is "rib_fracture", so a query for rib fracture finds it. Two sites ("clavicle
    and rib fractures") keep the general finding. ``sites``: ``vocab.site_children_of``
    of the vocabulary read with (default: the one in use)."""
    from radpilot.search.vocab import site_children

    children = (sites if sites is not None else site_children()).get(finding)
    if not children or not locations:
        return finding
    locs = {loc.lower() for loc in locations}
    hits = {child for site, child in children if site in locs}
    return hits.pop() if len(hits) == 1 else finding


def _hypothesis_only(vocab: Vocabulary, finding: str, labels: dict[str, float | None]) -> bool:
    """The report's label policy dropped every hedged mention of this finding's label as
    a possibility offered to explain another observation ("opacity, may represent
    pneumonia"): such a report ranks below the ones that lean towards the finding."""
    f = vocab.findings.get(finding)
    return f is not None and f.chexpert is not None and labels.get(f.chexpert, 0.0) is None


def _aggregate(
    items: list[tuple[FindingStatus, Mention]], hypothesis: bool = False
) -> tuple[str, float]:
    best = max((st for st, _ in items), key=_PRIORITY.__getitem__)
    cfg = ranking()
    if best not in (FindingStatus.PRESENT, FindingStatus.UNCERTAIN):
        return best.value, 0.0
    same = [m for st, m in items if st is best]
    score = getattr(cfg.status_base, best.value)
    if best is FindingStatus.UNCERTAIN:
        # "likely pneumonia" before "cannot exclude pneumonia": the strongest hedge counts.
        score += max(cfg.hedge.of(m.hedge) for m in same)
        if hypothesis:
            score += cfg.hedge.hypothesis
    if any(m.section == "impression" for m in same):
        score += cfg.bonus.impression
    score += cfg.bonus.per_extra_mention * min(len(same) - 1, cfg.bonus.max_extra_mentions)
    if all(m.historical for m in same):
        score -= cfg.bonus.historical_penalty
    return best.value, round(score, 4)


def read_and_analyse(text: str, vocabulary: Vocabulary | None = None) -> Analysis:
    """Run the report reader and the CheXpert labeler on one report's text (with a
    user's merged ``vocabulary``, or the packaged one)."""
    from radpilot.reports import read
    from radpilot.reports.labels import chexpert

    report = read(text, vocabulary=vocabulary)
    return analyse(report, chexpert(report))


# A mention with one of these statuses says what is not there, or only asks about it.
UNSTATED = frozenset({FindingStatus.ABSENT.value, FindingStatus.CONTEXT.value})


# One sentence as the masks see it: its (start, end), whether every mention in it is absent
# or context, and the spans of those unstated mentions (duplicates kept, in any order).
SentenceMask = tuple[Span, bool, list[Span]]


def asserted_text(text: str, mentions: Iterable[tuple[str, Span, Span]]) -> str:
    """The report without what it negates or only asks about, for embeddings: "No
    pneumothorax." must not make a report look like "collapsed lung".

    ``mentions`` are ``(status, span, sentence)``. A sentence whose mentions are all absent
    or context ("No pneumothorax or effusion.", "INDICATION: rule out pneumonia.") is left
    out whole; in a sentence that also states a finding, only the negated finding's words
    are ("No pneumothorax, but a small effusion." keeps "but a small effusion").

    >>> asserted_text("No pneumothorax. Small effusion.",
    ...               [("absent", (3, 15), (0, 16)), ("present", (23, 31), (17, 32))])
    'Small effusion.'
    """
    return asserted_from_sentences(text, sentence_masks(mentions))


def asserted_from_sentences(text: str, sentences: Iterable[SentenceMask]) -> str:
    """``asserted_text`` from the report's sentences that hold an unstated mention."""
    cuts: list[Span] = []
    for sentence, all_unstated, spans in sentences:
        if all_unstated:
            cuts.append(sentence)
        else:
            cuts.extend(spans)
    return _without(text, cuts)


def stated_words_text(text: str, mentions: Iterable[tuple[str, Span, Span]]) -> str:
    """The report's words that free query words may match: a sentence whose mentions are
    all absent or context keeps only the words of those mentions ("No apical opacity."
    keeps "opacity", so "apical" does not match it; "Heart size is normal." is all one
    mention and keeps the words "heart size"); every other sentence stays whole.

    >>> stated_words_text("No apical opacity. Heart size is normal.",
    ...                   [("absent", (10, 17), (0, 18)), ("absent", (19, 39), (19, 40))])
    'opacity Heart size is normal'
    """
    return stated_from_sentences(text, sentence_masks(mentions))


def stated_from_sentences(text: str, sentences: Iterable[SentenceMask]) -> str:
    """``stated_words_text`` from the report's sentences that hold an unstated mention
    (only those whose mentions are all unstated change anything)."""
    cuts: list[Span] = []
    for (start, end), all_unstated, spans in sentences:
        if all_unstated:
            pos = start
            for a, b in sorted(spans):
                cuts.append((pos, max(pos, a)))
                pos = max(pos, b)
            cuts.append((pos, end))
    return _without(text, cuts)


def sentence_masks(mentions: Iterable[tuple[str, Span, Span]]) -> list[SentenceMask]:
    """The sentences of ``(status, span, sentence)`` mentions that hold an unstated one."""
    by_sentence: dict[Span, list[tuple[str, Span]]] = {}
    for status, span, sentence in mentions:
        by_sentence.setdefault(sentence, []).append((status, span))
    out: list[SentenceMask] = []
    for sentence, items in by_sentence.items():
        spans = [span for st, span in items if st in UNSTATED]
        if spans:
            out.append((sentence, len(spans) == len(items), spans))
    return out


def _without(text: str, cuts: list[Span]) -> str:
    cuts = [c for c in cuts if c[1] > c[0]]
    if not cuts:
        return text
    out: list[str] = []
    pos = 0
    for start, end in sorted(cuts):
        if start > pos:
            out.append(text[pos:start])
        pos = max(pos, end)
    out.append(text[pos:])
    return " ".join(" ".join(out).split())

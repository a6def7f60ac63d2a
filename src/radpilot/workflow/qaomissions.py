"""What a signed report leaves out: a significant FINDINGS finding its IMPRESSION does not
name (``missing_from_impression``), a critical result with no documented communication
(``critical_not_communicated``). Checks of :func:`radpilot.workflow.qa.check`, like
``qachecks``; the rules are data (``data/qa_rules.json``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from radpilot.reports.models import Certainty, Change, Mention, Span
from radpilot.reports.vocabulary import load_vocabulary
from radpilot.workflow.qatypes import (
    Facts,
    Problem,
    ProblemKind,
    Severity,
    finding_name,
    phrase_regex,
    spans_of,
    stated,
    unique_spans,
)

# -- impression --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _named_by(finding: str) -> frozenset[str]:
    """Findings whose mention in an IMPRESSION names ``finding`` too: itself, its
    ancestors below the vocabulary's roots, its descendants, and ``covers`` of the rules."""
    from radpilot.workflow.qarules import qa_rules

    vocab = load_vocabulary()
    names = {finding, *qa_rules().covers.get(finding, ())}
    names.update(a for a in vocab.ancestors(finding) if vocab.findings[a].parent is not None)
    names.update(f.id for f in vocab if finding in vocab.ancestors(f.id))
    return frozenset(names)


def missing_from_impression(facts: Facts) -> list[Problem]:
    """A significant finding FINDINGS state as present (new or not said to be stable) that
    the IMPRESSION does not name at all. Only when both sections are there."""
    report = facts.report
    names = {s.section for s in report.sentences}
    if "findings" not in names or "impression" not in names:
        return []
    rules = facts.rules
    mentions = stated(report)
    # Any mention names it, a negated one too: an IMPRESSION that denies a FINDINGS finding
    # contradicts it (``contradictions``), it does not leave it out.
    in_impression = {m.finding for m in mentions if m.section == "impression"}
    critical = {c.finding for c in rules.critical if not c.severities and not c.requires_words}
    found: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        if (
            m.section == "findings"
            and m.certainty is Certainty.PRESENT
            and m.finding in rules.significant
            and not m.historical
            and m.change not in rules.not_new_changes
            and (
                m.severity not in rules.minor_severities
                or m.change is not None
                or m.finding in critical
            )
            and not _incidental(facts, m)
        ):
            found[m.finding].append(m)
    missing = {f for f in found if not _named_by(f) & in_impression}
    out = []
    for finding, ms in found.items():
        # One placed by another finding ("pleural fluid deep to the fracture") is named
        # with it, or left out with it: one omission, one problem.
        ms = [m for m in ms if not _placed_by(facts, m, mentions, in_impression, missing)]
        if not ms or finding not in missing:
            continue
        out.append(
            Problem(
                ProblemKind.MISSING_FROM_IMPRESSION,
                f"{finding_name(finding)} is stated in FINDINGS but not in the IMPRESSION",
                spans_of(ms),
                Severity.MEDIUM,
                finding,
            )
        )
    return out


def _incidental(facts: Facts, m: Mention) -> bool:
    """Whether its sentence says it is old or benign, or that the film does not show it
    well: the IMPRESSION need not repeat it."""
    rules = facts.rules
    words = phrase_regex((*rules.incidental_words, *rules.unconfirmed_words), prefix=True)
    return words is not None and words.search(m.sentence.text) is not None


def _placed_by(
    facts: Facts,
    m: Mention,
    mentions: Sequence[Mention],
    in_impression: set[str],
    missing: set[str],
) -> bool:
    """Whether its sentence places it by another finding after a relative phrase of the
    rules ("pleural fluid deep to the fracture") that the IMPRESSION names, or that is
    itself reported missing."""
    words = phrase_regex(tuple(facts.rules.relative_words))
    if words is None:
        return False
    s = m.sentence
    hit = words.search(facts.report.text, m.span.end, s.end)
    if hit is None:
        return False
    return any(
        o.sentence.start == s.start
        and o.span.start >= hit.end()
        and o.finding != m.finding
        and (o.finding in missing or bool(_named_by(o.finding) & in_impression))
        for o in mentions
    )


# -- critical results --------------------------------------------------------------------


def _communicated(facts: Facts) -> bool:
    """Whether a sentence documents a communication: a notification system's phrase, or a
    communication phrase ("discussed with", "called to") followed by who or when."""
    rules = facts.rules
    systems = phrase_regex(tuple(rules.communication_systems))
    cues = phrase_regex(tuple(rules.communication_cues))
    who = phrase_regex(tuple(rules.recipient_words))
    for s in facts.report.sentences:
        if systems is not None and systems.search(s.text):
            return True
        if cues is None or who is None:
            continue
        for c in cues.finditer(s.text):
            if who.search(s.text, c.end()) or _clock_time(s.text, c.end()):
                return True
    return False


def _clock_time(text: str, start: int) -> bool:
    # A time of day is a format, not a vocabulary: "at 10:42" ("1530 hours" is caught by
    # the recipient words).
    return re.search(r"\b\d{1,2}[:.]\d{2}\b", text[start:]) is not None


def critical_not_communicated(facts: Facts) -> list[Problem]:
    """A critical result (``critical`` of the rules: stated, present, not historical, not
    stable or improving) in a report with no documented communication."""
    rules = facts.rules
    hits: dict[str, tuple[str, list[Mention]]] = {}
    why: list[Span] = []  # the malposition words ("mainstem"), beside the device's
    mentions = stated(facts.report)
    known = _known(facts, mentions)
    for m in mentions:
        if (
            m.certainty is not Certainty.PRESENT
            or m.historical
            or m.change in rules.not_new_changes
            or any(_same_lesion(k, m) for k in known)
        ):
            continue
        for rule in rules.critical:
            if rule.finding != m.finding:
                continue
            if rule.severities and m.severity not in rule.severities:
                continue
            if rule.requires_words:
                words = phrase_regex(tuple(rule.requires_words), prefix=True)
                found = words.search(m.sentence.text) if words is not None else None
                if found is None:
                    continue
                at = m.sentence.start + found.start()
                why.append(Span(at, at + len(found.group()), found.group()))
            hits.setdefault(m.finding, (rule.name, []))[1].append(m)
    if not hits or _communicated(facts):
        return []
    return [
        Problem(
            ProblemKind.CRITICAL_NOT_COMMUNICATED,
            f"critical result ({name}) with no documented communication (who was told, when)",
            unique_spans([*spans_of(ms), *(w for w in why if _in_sentences(w, ms))]),
            Severity.HIGH,
            finding,
        )
        for finding, (name, ms) in hits.items()
    ]


def _known(facts: Facts, mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions whose own phrase says, in a known word of the rules, that their finding is
    a known one ("small residual pneumoperitoneum", "almost completely resolved right
    apical pneumothorax"). Said in words, not taken from the reader's change: a change
    read across a comma ("interval improvement in aeration, large right pneumothorax")
    must not make the other mentions known. A negated one says nothing of a present one
    ("no residual pneumothorax")."""
    rules = facts.rules
    words = phrase_regex(tuple(rules.known_words), prefix=True)
    text = facts.report.text
    out: list[Mention] = []
    before = 0
    last_sentence = -1
    for m in mentions:
        if m.sentence.start != last_sentence:
            before, last_sentence = m.sentence.start, m.sentence.start
        phrase = _CLAUSE.split(text[before : m.span.end])[-1]
        before = m.span.end
        if m.certainty is Certainty.ABSENT and m.change is not Change.RESOLVED:
            continue
        if words is not None and words.search(phrase):
            out.append(m)
    return out


# Where a mention's own phrase starts at the latest: a known word before one of these is
# another phrase's ("interval improvement in aeration, large right pneumothorax").
_CLAUSE = re.compile(r"[,;:]|\b(?:with|and|but|while|without)\b", re.IGNORECASE)


def _same_lesion(a: Mention, b: Mention) -> bool:
    """Whether two mentions may name the same lesion: the same finding and size, on the
    same side or one says none ("small amount of free air", "small residual
    pneumoperitoneum"); a large one beside a resolving one is another."""
    side_ok = a.laterality is None or b.laterality is None or a.laterality is b.laterality
    return a.finding == b.finding and a.severity == b.severity and side_ok


def _in_sentences(span: Span, ms: Sequence[Mention]) -> bool:
    return any(m.sentence.start <= span.start < m.sentence.end for m in ms)

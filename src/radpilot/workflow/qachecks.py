"""The checks of :func:`radpilot.workflow.qa.check`, one function per kind of problem
(what a report leaves out, an impression item or a communication, is ``qaomissions``).

Each takes the report read once (:class:`~radpilot.workflow.qa.Facts`) and returns its
problems. The rules (which findings, which phrases) are data: ``data/qa_rules.json``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from radpilot.reports.labels import rollup
from radpilot.reports.labelsets import CHESTXRAY14, CHEXPERT
from radpilot.reports.models import Certainty, Change, Laterality, Mention, Span
from radpilot.reports.vocabulary import load_vocabulary
from radpilot.workflow.qatypes import (
    Facts,
    ImageFinding,
    Problem,
    ProblemKind,
    Severity,
    finding_name,
    phrase_regex,
    side_word,
    spans_of,
    stated,
    tokens_in,
    unique_spans,
)

_OPPOSITE = {Laterality.LEFT: Laterality.RIGHT, Laterality.RIGHT: Laterality.LEFT}
_SIDES = (Laterality.LEFT, Laterality.RIGHT)


def _sided(mentions: Sequence[Mention]) -> dict[Laterality | None, list[Mention]]:
    out: dict[Laterality | None, list[Mention]] = defaultdict(list)
    for m in mentions:
        out[m.laterality].append(m)
    return out


def _one_side(by_side: dict[Laterality | None, list[Mention]]) -> Laterality | None:
    """The one side (left or right) a set of mentions names, when they name exactly one
    and nothing bilateral."""
    sides = [s for s in by_side if s is not None]
    if len(sides) == 1 and sides[0] in _SIDES:
        return sides[0]
    return None


# -- laterality ------------------------------------------------------------------------


def laterality_between_sections(facts: Facts) -> list[Problem]:
    """The same finding on one side in FINDINGS and only on the other in IMPRESSION; or a
    finding of one of the rules' ``laterality_groups`` (an opacity in FINDINGS, a pneumonia
    in IMPRESSION). A negated mention says no side ("no left effusion; small right
    effusion" is no conflict); a hedged one does, and one said to have cleared; a
    finding or group named bilateral, or on both sides, in either section is no conflict
    ("left greater than right")."""
    groups = {f: i for i, g in enumerate(facts.rules.laterality_groups) for f in g}
    by_finding: dict[str, dict[str, list[Mention]]] = defaultdict(lambda: defaultdict(list))
    by_group: dict[int, dict[str, list[Mention]]] = defaultdict(lambda: defaultdict(list))
    present = [
        m
        for m in stated(facts.report)
        # A side is said by a hedged mention too ("possible left lower lobe pneumonia"),
        # and by one said to have cleared; a negated one says none.
        if (m.certainty is not Certainty.ABSENT or m.change is Change.RESOLVED)
        and m.section in ("findings", "impression")
    ]
    for m in _with_sentence_side(facts, present):
        by_finding[m.finding][m.section].append(m)
        if m.finding in groups:
            by_group[groups[m.finding]][m.section].append(m)
    out: list[Problem] = []
    flagged: set[int] = set()
    for finding, sections in by_finding.items():
        named = by_group.get(groups[finding]) if finding in groups else None
        if named is not None and _names_side(named["findings"], sections["impression"]):
            continue  # FINDINGS name it on that side under another name of its group
        problem = _side_conflict(facts, sections, finding_name(finding), finding)
        if problem is not None:
            out.append(problem)
            if finding in groups:
                flagged.add(groups[finding])
    support = _side_support(facts)
    for index, sections in by_group.items():
        if index in flagged or any(
            (m.finding, m.laterality) in support for m in sections["impression"]
        ):
            continue
        i_finding = sections["impression"][0].finding if sections["impression"] else ""
        problem = _side_conflict(facts, sections, finding_name(i_finding), i_finding)
        if problem is not None:
            out.append(problem)
    return out


def _side_support(facts: Facts) -> set[tuple[str, Laterality]]:
    """(finding, side) pairs the FINDINGS words give beyond the mentions the comparison
    takes: a negated mention's own side, and an unsided mention's sentence's side words
    ("interval removal of right chest tube ... and right basilar atelectasis": read as
    negated, or with no side of its own). An IMPRESSION naming that finding on that side is
    no conflict with another finding of its group: the side is the FINDINGS' own, and
    whether the finding is there is for ``contradictions``."""
    out: set[tuple[str, Laterality]] = set()
    for m in stated(facts.report):
        if m.section != "findings":
            continue
        if m.laterality is None:
            lo, hi = m.sentence.start, m.sentence.end
            words = {t.roles.laterality for t in tokens_in(facts, lo, hi)}
            out.update((m.finding, side) for side in _SIDES if side.value in words)
        elif m.certainty is Certainty.ABSENT and m.change is not Change.RESOLVED:
            out.add((m.finding, m.laterality))
    return out


def _with_sentence_side(facts: Facts, mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions with the side of their sentence where the reader attached none but the
    sentence names one side only and no mention of it has a side ("airspace disease is
    noted within the right middle lobe": the side after the verb)."""
    by_sentence: dict[int, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_sentence[m.sentence.start].append(m)
    out: list[Mention] = []
    for ms in by_sentence.values():
        lo, hi = ms[0].sentence.start, ms[0].sentence.end
        words = {t.roles.laterality for t in tokens_in(facts, lo, hi) if t.roles.laterality}
        said = {m.laterality for m in ms if m.laterality is not None}
        side = Laterality(str(words.pop())) if len(words) == 1 else None
        if side is None or side not in _SIDES or said:  # the side word is another's
            out += ms
            continue
        out += [m if m.laterality is not None else replace(m, laterality=side) for m in ms]
    return out


def _names_side(findings: Sequence[Mention], impression: Sequence[Mention]) -> bool:
    """Whether FINDINGS name a side (or both) that the IMPRESSION gives."""
    said = {m.laterality for m in findings}
    return any(
        m.laterality is not None and (m.laterality in said or Laterality.BILATERAL in said)
        for m in impression
    )


def _side_conflict(
    facts: Facts, sections: dict[str, list[Mention]], name: str, finding: str
) -> Problem | None:
    f_side = _one_side(_sided(sections["findings"]))
    i_side = _one_side(_sided(sections["impression"]))
    if f_side is None or i_side is None:
        zoned = _zone_conflict(facts, sections)
        if zoned is None:
            return None
        sections, f_side, i_side = zoned
    if f_side is i_side:
        return None
    f_words = [side_word(facts, m) for m in sections["findings"] if m.laterality]
    i_words = [side_word(facts, m) for m in sections["impression"] if m.laterality]
    return Problem(
        ProblemKind.LATERALITY_CONFLICT,
        f"{name}: FINDINGS say {f_side.value}, IMPRESSION says {i_side.value}",
        unique_spans([*f_words, *i_words]),
        Severity.HIGH,
        finding,
    )


def _zone_conflict(
    facts: Facts, sections: dict[str, list[Mention]]
) -> tuple[dict[str, list[Mention]], Laterality, Laterality] | None:
    """Where a section names the finding on both sides: the first lung zone (the rules'
    ``location_zones``) that each section names on one side only, and the sides differ
    ("left lower lobe" and "right upper lobe" opacities, "left upper lobe opacity")."""
    for zone in facts.rules.location_zones:
        part = {k: [m for m in ms if zone in _zones(facts, m)] for k, ms in sections.items()}
        f_side = _one_side(_sided(part.get("findings", [])))
        i_side = _one_side(_sided(part.get("impression", [])))
        if f_side is not None and i_side is not None and f_side is not i_side:
            return part, f_side, i_side
    return None


def _zones(facts: Facts, m: Mention) -> set[str]:
    where = " ".join(_WORD.findall(" ".join(m.locations).lower()))
    where = f" {where.replace('left ', '').replace('right ', '')} "
    return {
        zone
        for zone, phrases in facts.rules.location_zones.items()
        if any(f" {p} " in where for p in phrases)
    }


def exam_laterality(facts: Facts, exam: str) -> list[Problem]:
    """A one-sided examination ("LEFT RIBS") whose report states findings only on the other
    side and never names the examined one."""
    from radpilot.reports.matcher import scan

    exam_sides = {t.roles.laterality for t in scan(exam) if t.roles.laterality}
    if len(exam_sides) != 1:
        return []
    side = Laterality(exam_sides.pop())
    if side not in _SIDES:
        return []
    other = _OPPOSITE[side]
    # the EXAMINATION line names the examined side by definition: only the report's own
    # statements can show that the side was looked at
    exam_spans = [(s.start, s.end) for s in facts.report.sections if s.name == "examination"]
    if any(
        t.roles.laterality in (side.value, "bilateral")
        and not any(a <= t.start < b for a, b in exam_spans)
        for t in facts.tokens
    ):
        return []
    wrong = [
        m
        for m in stated(facts.report)
        if m.certainty is Certainty.PRESENT and m.laterality is other
    ]
    if not wrong:
        return []
    return [
        Problem(
            ProblemKind.LATERALITY_CONFLICT,
            f"the examination is of the {side.value} side; the report states findings on the "
            f"{other.value} only",
            unique_spans([side_word(facts, m) for m in wrong]),
            Severity.HIGH,
            wrong[0].finding,
        )
    ]


# -- contradictions ----------------------------------------------------------------------


def _narrowed(facts: Facts, m: Mention, before: int) -> bool:
    """Whether a negation says less than "no X" ("no large effusion", "no new opacity",
    "no cavitary nodule", "without a comparison, the age of this fracture is unknown"): a
    narrowing word of the rules in its cue or its words, or any word between its cue and
    its finding that is no filler ("no evidence of"), side or location word."""
    rules = facts.rules
    narrowing = phrase_regex(tuple(rules.narrowing_words))
    text = facts.report.text
    window = text[max(before, m.sentence.start) : m.span.start]
    if narrowing is not None and (
        narrowing.search(window)
        or narrowing.search(" ".join(m.cues))
        or narrowing.search(m.span.text)
    ):
        return True
    # The words from its cue (or, in a list, "no effusion or cavitary nodule", from the
    # mention before it) to its finding.
    pre = text[m.sentence.start : m.span.start].lower()
    cue_end = max((pre.rfind(c) + len(c) for c in m.cues if c in pre), default=-1)
    if cue_end < 0:
        return False
    start = max(cue_end, before - m.sentence.start)
    neutral = _neutral_words()
    return any(w not in neutral for w in _WORD.findall(pre[start:]))


_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def _neutral_words() -> frozenset[str]:
    from radpilot.reports.rules import modifiers
    from radpilot.workflow.qarules import qa_rules

    mods = modifiers()
    words = set(qa_rules().filler_words)
    for phrase in (*mods.laterality, *mods.locations):
        words.update(_WORD.findall(phrase))
    return frozenset(words)


def _overlaps(absent: Mention, present: Mention) -> bool:
    """Whether a negation covers where a present mention is: the same side (an unsided
    negation covers every side; a bilateral finding is on each side) and, when the
    negation names a location, a location they share."""
    side_ok = absent.laterality is None or absent.laterality in (
        present.laterality,
        None if present.laterality is None else Laterality.BILATERAL,
    )
    if present.laterality is Laterality.BILATERAL and absent.laterality in _SIDES:
        side_ok = True
    if absent.laterality is not None and present.laterality is None:
        side_ok = False
    loc_ok = not absent.locations or bool(set(absent.locations) & set(present.locations))
    return side_ok and loc_ok


def _negated_by(facts: Facts, finding: str) -> set[str]:
    """The findings whose plain negation denies ``finding``: itself and those whose
    ``negation_covers`` list it ("no fracture" denies a rib fracture)."""
    out = {finding}
    out.update(k for k, v in facts.rules.negation_covers.items() if finding in v)
    return out


def contradictions(facts: Facts) -> list[Problem]:
    """A finding stated present and plainly negated where it is (same side and location),
    or negated under a broader name ("no fracture" and "rib fracture"). A hedged mention,
    a change to absent ("resolved"), a historical negation and a narrowed negation ("no
    large effusion", "no new opacity", "no cavitary nodule") say nothing that can
    contradict."""
    mentions = stated(facts.report)
    prev_end: dict[int, int | None] = {}
    last: dict[int, int] = {}
    for i, m in enumerate(mentions):
        prev_end[i] = last.get(m.sentence.start)
        last[m.sentence.start] = m.span.end
    present: list[Mention] = []
    absent: dict[str, list[Mention]] = defaultdict(list)
    text = facts.report.text
    for i, m in enumerate(mentions):
        if m.certainty is Certainty.PRESENT:
            present.append(m)
            continue
        before = prev_end[i]
        if m.certainty is not Certainty.ABSENT or m.historical or m.change is not None:
            continue
        # A finding right before it names a kind of it ("no cavitary nodule").
        if before is not None and not text[before : m.span.start].strip(" -"):
            continue
        if not _narrowed(facts, m, m.sentence.start if before is None else before):
            absent[m.finding].append(m)
    out = []
    for finding, negs in absent.items():
        said = [p for p in present if finding in _negated_by(facts, p.finding)]
        if not said:
            continue
        covered = _merged(said)
        # Words the reader read both ways are no statement of absence.
        negs = [a for a in negs if not _inside(a.span, covered)]
        hit_negs, hit_said = _contradicting(negs, said)
        if not hit_negs:
            continue
        named = hit_said[0].finding
        out.append(
            Problem(
                ProblemKind.INTERNAL_CONTRADICTION,
                f"{finding_name(named)} is stated both present and absent",
                spans_of([*hit_negs, *hit_said]),
                Severity.HIGH,
                named,
            )
        )
    return out


def _where(m: Mention) -> tuple[Laterality | None, frozenset[str]]:
    return m.laterality, frozenset(m.locations)


def _contradicting(
    negs: Sequence[Mention], said: Sequence[Mention]
) -> tuple[list[Mention], list[Mention]]:
    """The negations and present mentions that contradict each other (:func:`_overlaps`),
    compared by where they are (side, locations): a report has few such places, however
    many mentions (a run-on report of 100,000 characters stays linear)."""
    by_neg: dict[tuple[Laterality | None, frozenset[str]], list[Mention]] = defaultdict(list)
    by_said: dict[tuple[Laterality | None, frozenset[str]], list[Mention]] = defaultdict(list)
    for a in negs:
        by_neg[_where(a)].append(a)
    for p in said:
        by_said[_where(p)].append(p)
    hit_neg: set[tuple[Laterality | None, frozenset[str]]] = set()
    hit_said: set[tuple[Laterality | None, frozenset[str]]] = set()
    for kn, ns in by_neg.items():
        for ks, ps in by_said.items():
            if _overlaps(ns[0], ps[0]):
                hit_neg.add(kn)
                hit_said.add(ks)
    return (
        [a for a in negs if _where(a) in hit_neg],
        [p for p in said if _where(p) in hit_said],
    )


def _merged(mentions: Sequence[Mention]) -> list[tuple[int, int]]:
    spans = sorted((m.span.start, m.span.end) for m in mentions)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _inside(span: Span, merged: list[tuple[int, int]]) -> bool:
    """Whether ``span`` overlaps one of the merged, sorted intervals."""
    i = bisect_right(merged, (span.start, _MAX)) - 1
    for j in (i, i + 1):
        if 0 <= j < len(merged) and merged[j][0] < span.end and span.start < merged[j][1]:
            return True
    return False


_MAX = 1 << 62


# -- against the image model -------------------------------------------------------------


def against_image(facts: Facts, image: Sequence[ImageFinding]) -> list[Problem]:
    """The image model's decisions (its own thresholds) against the report's labels: a
    positive finding the report leaves out or negates (``possible_miss``), a finding the
    report states present that the model scored negative on every image
    (``possible_overcall``), and a finding the model boxes on one side that the report
    places only on the other. A hedged report label is neither."""
    from radpilot.reports.labels import chestxray14, chexpert

    report = facts.report
    values = {**chestxray14(report), **chexpert(report)}
    vocab = load_vocabulary()
    by_label: dict[str, list[ImageFinding]] = defaultdict(list)
    for f in image:
        if f.label in values:
            by_label[f.label].append(f)
    out: list[Problem] = []
    for label, results in by_label.items():
        value = values[label]
        labelset = CHEXPERT if label in CHEXPERT.labels else CHESTXRAY14
        ms = [m for m in stated(report) if any(n == label for n, _ in rollup(m, labelset, vocab))]
        top = max(results, key=lambda r: r.probability)
        score = f"{top.probability:.2f} (threshold {top.threshold:.2f})"
        positive = [r for r in results if r.positive]
        if positive and value in (None, 0.0):
            said = "negates it" if value == 0.0 else "does not mention it"
            neg = [m for m in ms if m.certainty is Certainty.ABSENT]
            out.append(
                Problem(
                    ProblemKind.POSSIBLE_MISS,
                    f"the image model finds {label} at {score}; the report {said}",
                    spans_of(neg),
                    Severity.MEDIUM,
                    label,
                )
            )
        elif not positive and value == 1.0:
            pos = [m for m in ms if m.certainty is Certainty.PRESENT]
            out.append(
                Problem(
                    ProblemKind.POSSIBLE_OVERCALL,
                    f"the report states {label}; the image model scores it {score}",
                    spans_of(pos),
                    Severity.LOW,
                    label,
                )
            )
        out += _image_side(facts, label, positive, ms)
    return out


def _image_side(
    facts: Facts, label: str, positive: Sequence[ImageFinding], ms: Sequence[Mention]
) -> list[Problem]:
    sides = {r.side for r in positive if r.side is not None}
    if len(sides) != 1:
        return []
    side = sides.pop()
    said = _one_side(_sided([m for m in ms if m.certainty is Certainty.PRESENT]))
    if said is None or said is side:
        return []
    wrong = [side_word(facts, m) for m in ms if m.laterality is said]
    return [
        Problem(
            ProblemKind.LATERALITY_CONFLICT,
            f"{label}: the report says {said.value}, the image model's region is on the "
            f"{side.value}",
            unique_spans(wrong),
            Severity.MEDIUM,
            label,
        )
    ]

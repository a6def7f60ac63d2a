"""Template drafts: statements planned from the input (and the prior), worded from data,
placed by region and importance, rendered with the exam's Jinja2 template.

Planning is where the prior enters: a finding present now and before is "Unchanged", one
present only now is "New", one the radiologist calls absent that the prior showed is
"Resolved" (a device: "Interval removal of the ..."). A prior finding the input does not
address is never called resolved: it is noted, and no pertinent negative covers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import jinja2

from radpilot.reports.models import Certainty, Change, Hedge
from radpilot.reports.rules import modifiers
from radpilot.reports.vocabulary import Vocabulary, load_vocabulary
from radpilot.workflow.models import Source, Statement
from radpilot.workflow.rules import DraftingFile, Template, drafting, template_source

_URGENT_CHANGES = (Change.NEW, Change.WORSE)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a draft will say, before it is worded."""

    template: Template
    exam: str
    comparison: str
    statements: tuple[Statement, ...]
    notes: tuple[str, ...] = ()


def lineage(finding: str, vocab: Vocabulary) -> tuple[str, ...]:
    if finding not in vocab.findings:
        return (finding,)
    return (finding, *vocab.ancestors(finding))


def related(a: str, b: str, vocab: Vocabulary) -> bool:
    """The same finding, or one the ancestor of the other."""
    return a in lineage(b, vocab) or b in lineage(a, vocab)


def _same_side(a: Statement, b: Statement) -> bool:
    return a.laterality is None or b.laterality is None or a.laterality == b.laterality


def with_prior(
    current: Sequence[Statement], prior: Sequence[Statement], vocab: Vocabulary
) -> tuple[list[Statement], list[str]]:
    """Change statements against the prior (a change the input states is kept)."""
    before = [p for p in prior if p.certainty is not Certainty.ABSENT]
    out: list[Statement] = []
    for s in current:
        match = next((p for p in before if p.finding == s.finding and _same_side(s, p)), None)
        if s.change is not None or s.certainty is Certainty.UNCERTAIN:
            out.append(s)
        elif s.certainty is Certainty.PRESENT:
            out.append(replace(s, change=_change(s, match)))
        elif match is not None:
            side = s.laterality or match.laterality
            out.append(replace(s, change=Change.RESOLVED, laterality=side, words=match.words))
        else:
            out.append(s)
    notes = sorted(
        {
            f"prior finding not addressed in the current findings: {_named(p)}"
            for p in before
            # a left effusion now says nothing of the right one before
            if not any(related(p.finding, s.finding, vocab) and _same_side(s, p) for s in current)
        }
    )
    return out, notes


def _named(s: Statement) -> str:
    return s.finding if s.laterality is None else f"{s.finding} ({s.laterality.value})"


def _change(now: Statement, before: Statement | None) -> Change | None:
    """New, unchanged, or increased / decreased when both state a size and the sizes
    rank differently; none when the prior was only possible (it was never established,
    so "unchanged" would claim more than either report says)."""
    if before is None:
        return Change.NEW
    if before.certainty is not now.certainty:
        return None
    rank = drafting().size_rank
    a, b = rank(before.severity), rank(now.severity)
    if a is not None and b is not None and a != b:
        return Change.WORSE if b > a else Change.BETTER
    return Change.STABLE


def merged(
    phrases: Sequence[Statement], analysis: Sequence[Statement]
) -> tuple[list[Statement], list[str]]:
    """The radiologist's phrases first; an image finding they already address is left
    out (their word wins), and noted when they call it absent."""
    out = list(phrases)
    notes = []
    for s in analysis:
        same = [p for p in phrases if p.finding == s.finding]
        if not same:
            out.append(s)
        elif all(p.certainty is Certainty.ABSENT for p in same):
            notes.append(f"image finding {s.finding} left out: the findings call it absent")
    return out, notes


def negatives(
    template: Template, stated: Sequence[Statement], prior: Sequence[Statement], vocab: Vocabulary
) -> list[Statement]:
    """The template's pertinent negatives that nothing stated (now or before) touches."""
    touched = [s.finding for s in stated] + [
        p.finding for p in prior if p.certainty is not Certainty.ABSENT
    ]
    out = []
    for region in template.regions:
        for neg in region.negatives:
            covers = (neg.finding, *neg.unless)
            if not any(related(c, t, vocab) for c in covers for t in touched):
                name = vocab.get(neg.finding).name if neg.finding in vocab.findings else neg.finding
                out.append(
                    Statement(
                        neg.finding, Certainty.ABSENT, name, source=Source.TEMPLATE, text=neg.text
                    )
                )
    return out


def _place(s: Statement) -> str | None:
    words = set(s.words.split())
    if words & modifiers().laterality.keys():
        return None  # the words say the side already ("elevated right hemidiaphragm")
    lat = s.laterality.value if s.laterality is not None else None
    if s.location and lat and s.location.startswith(lat):
        return s.location
    return " ".join(x for x in (lat, s.location) if x) or None


def sentence(s: Statement, vocab: Vocabulary, rules: DraftingFile | None = None) -> str:
    """One statement as one sentence, from the wording of ``drafting.json``."""
    if s.text is not None:
        return s.text
    rules = rules or drafting()
    place = _place(s)
    if s.certainty is Certainty.ABSENT:
        desc = " ".join(x for x in (place, s.words) if x)
        if s.change is Change.RESOLVED:
            device = "support_device" in lineage(s.finding, vocab)
            removed = rules.device_removed if device else rules.changes[Change.RESOLVED]
            return f"{removed} {desc}."
        return f"{rules.absent} {desc}."
    desc = " ".join(x for x in (s.size, s.severity, place, s.words, s.position) if x)
    # The change before the hedge: the reader reads "Possible unchanged cardiomegaly" as
    # present, "Unchanged possible cardiomegaly" as uncertain.
    lead: list[str] = []
    if s.change is not None:
        lead.append(rules.changes[s.change])
    if s.certainty is Certainty.UNCERTAIN:
        word = rules.hedges[s.hedge or Hedge.POSSIBLE]
        lead.append(word[:1].lower() + word[1:] if lead else word)
    text = " ".join([*lead, desc])
    return text[:1].upper() + text[1:] + "."


def importance(s: Statement, vocab: Vocabulary, rules: DraftingFile) -> tuple[int, int, int]:
    """Sort key of the IMPRESSION: the data's order of clinical importance (findings it
    does not list after those it does, devices last), then new or worse first, then
    present before uncertain."""
    order = rules.importance
    if s.finding in order:
        rank = order.index(s.finding)
    else:
        abnormal = s.finding in vocab.findings and vocab.get(s.finding).abnormal
        rank = len(order) if abnormal else len(order) + 1
    return (
        rank,
        0 if s.change in _URGENT_CHANGES else 1,
        0 if s.certainty is Certainty.PRESENT else 1,
    )


_ENV = jinja2.Environment(
    autoescape=False,  # plain-text reports, never HTML
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render(plan: Plan, *, vocabulary: Vocabulary | None = None) -> str:
    vocab = vocabulary or load_vocabulary()
    rules = drafting()
    template = plan.template
    regions: list[list[str]] = [[] for _ in template.regions]
    for s in plan.statements:
        regions[template.region_of(lineage(s.finding, vocab))].append(sentence(s, vocab, rules))
    shown = sorted(
        (s for s in plan.statements if s.shown and s.source is not Source.TEMPLATE),
        key=lambda s: importance(s, vocab, rules),
    )
    impression = [sentence(s, vocab, rules) for s in shown] or [template.empty_impression]
    jt = _ENV.from_string(template_source(template.file))
    return jt.render(
        exam=plan.exam,
        comparison=plan.comparison,
        regions=[
            {"header": r.header, "statements": lines}
            for r, lines in zip(template.regions, regions, strict=True)
            if lines
        ],
        impression=impression,
    )

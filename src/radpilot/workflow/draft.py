"""``radpilot draft``: a report drafted from findings, an image analysis and a prior,
verified by reading it back; optionally polished by a language model, whose draft is used
only when it reads back exactly as the template draft does.

>>> d = draft_report(["small left pleural effusion", "cardiomegaly"])
>>> d.verified, d.backend
(True, 'template.v1')
>>> print(d.report.split("IMPRESSION:")[1].strip())
1. Small left pleural effusion.
2. Cardiomegaly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radpilot.errors import InputError
from radpilot.reports.vocabulary import Vocabulary, load_vocabulary
from radpilot.workflow import compose, inputs, verify
from radpilot.workflow.models import Draft, Rejection, Statement
from radpilot.workflow.rules import drafting

if TYPE_CHECKING:
    from radpilot.workflow.llm import LLMConfig

TEMPLATE_BACKEND = "template.v1"


def plan_draft(
    phrases: Sequence[str] = (),
    *,
    analysis: Path | list[Any] | dict[str, Any] | None = None,
    prior: str | None = None,
    prior_label: str | None = None,
    exam: str | None = None,
    pertinent_negatives: bool = True,
    statements: Sequence[Statement] = (),
    vocabulary: Vocabulary | None = None,
) -> compose.Plan:
    """What the draft will state. ``prior``: the prior report's text; ``prior_label``:
    how COMPARISON names it (a date), else "Prior report"; ``statements``: findings
    already read (a benchmark drafts from a report's own), after the phrases';
    ``analysis``: an analysis file, or its JSON value already parsed (the service)."""
    vocab = vocabulary or load_vocabulary()
    template = drafting().template_for(exam)
    stated = inputs.from_phrases(phrases, vocabulary=vocabulary) if phrases else []
    stated = _distinct([*stated, *statements])
    notes: list[str] = []
    if analysis is not None:
        if isinstance(analysis, Path):
            seen, analysis_notes = inputs.from_analysis(analysis, vocabulary=vocabulary)
        else:
            seen, analysis_notes = inputs.analysis_statements(
                analysis, "analysis", vocabulary=vocabulary
            )
        stated, merge_notes = compose.merged(stated, seen)
        notes += analysis_notes + merge_notes
    if not stated and not phrases and analysis is None and not statements:
        raise InputError("nothing to draft from: give --findings and/or --analysis")
    before: list[Statement] = []
    if prior is not None:
        before = inputs.from_prior(prior, vocabulary=vocabulary)
        stated, prior_notes = compose.with_prior(stated, before, vocab)
        notes += prior_notes
    defaults = compose.negatives(template, stated, before, vocab) if pertinent_negatives else []
    comparison = "None." if prior is None else f"{prior_label or 'Prior report'}."
    return compose.Plan(
        template=template,
        exam=(exam or template.default_exam).strip(),
        comparison=comparison,
        statements=(*stated, *defaults),
        notes=tuple(notes),
    )


def _distinct(statements: Sequence[Statement]) -> list[Statement]:
    """One statement per reading ("cardiomegaly; the heart is enlarged" says it once)."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for s in statements:
        key = (s.finding, s.certainty, s.laterality, s.change)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def template_draft(plan: compose.Plan, *, vocabulary: Vocabulary | None = None) -> Draft:
    text = compose.render(plan, vocabulary=vocabulary)
    diffs = verify.differences(text, plan.statements, vocabulary=vocabulary)
    return Draft(
        report=text,
        verified=not diffs,
        differences=diffs,
        backend=TEMPLATE_BACKEND,
        statements=plan.statements,
        notes=plan.notes,
    )


def checked(
    candidate: str, template: Draft, backend: str, *, vocabulary: Vocabulary | None = None
) -> Draft:
    """A language model's rewording of ``template``: used only when it reads back with no
    difference from the planned statements; else the template draft, with the reason."""
    if not candidate.strip():
        return replace(template, rejected=Rejection(backend, "the model returned no text"))
    diffs = verify.differences(candidate, template.statements, vocabulary=vocabulary)
    problems = [d.describe() for d in diffs]
    problems += [
        p
        for p in verify.rewording_problems(candidate, template.report, vocabulary=vocabulary)
        if p not in problems
    ]
    if problems:
        reason = "its draft reads back differently: " + "; ".join(problems)
        return replace(template, rejected=Rejection(backend, reason, diffs))
    return replace(template, report=candidate.strip() + "\n", backend=backend)


def draft_report(
    phrases: Sequence[str] = (),
    *,
    analysis: Path | list[Any] | dict[str, Any] | None = None,
    prior: str | None = None,
    prior_label: str | None = None,
    exam: str | None = None,
    pertinent_negatives: bool = True,
    statements: Sequence[Statement] = (),
    vocabulary: Vocabulary | None = None,
) -> Draft:
    """The verified template draft (see :func:`plan_draft` for the arguments)."""
    plan = plan_draft(
        phrases,
        analysis=analysis,
        prior=prior,
        prior_label=prior_label,
        exam=exam,
        pertinent_negatives=pertinent_negatives,
        statements=statements,
        vocabulary=vocabulary,
    )
    return template_draft(plan, vocabulary=vocabulary)


def polish(
    template: Draft,
    config: LLMConfig,
    *,
    image: Path | None = None,
    vocabulary: Vocabulary | None = None,
) -> Draft:
    """Ask a language model to reword the verified template draft; keep its draft only
    when it reads back exactly as planned. A model that cannot be reached, fails or
    returns nothing leaves the template draft, with the reason recorded."""
    from radpilot import registry
    from radpilot.workflow.llm import LLMError, ask_model, open_model

    if not template.verified:
        return replace(
            template,
            rejected=Rejection(config.backend, "not asked: the template draft is not verified"),
        )
    try:
        model = open_model(config)
    except LLMError as exc:
        name = registry.llm_backends.resolve(config.backend)
        return replace(template, rejected=Rejection(name, str(exc)))
    if image is not None and not config.vision:
        template = replace(
            template,
            notes=(*template.notes, "image not sent: the model is not configured with vision"),
        )
    try:
        reply = ask_model(
            model, "polish", image=image if config.vision else None, report=template.report
        )
    except LLMError as exc:
        return replace(template, rejected=Rejection(model.name, str(exc)))
    finally:
        model.close()
    return checked(reply, template, model.name, vocabulary=vocabulary)

"""Questions over the archive and a patient's history, answered with citations of report
ids: retrieval by radpilot's search, an optional language model to write the answer, and
:mod:`radpilot.workflow.cite` to check it. Without a model the answer is extractive: the
retrieved reports' own finding sentences, each cited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from radpilot.errors import InputError
from radpilot.search.models import StoredReport
from radpilot.search.store import ArchiveStore
from radpilot.workflow.cite import CheckedAnswer, CitedSentence, claims_of, verify_answer
from radpilot.workflow.llm import ChatModel, LLMError, ask_model

EXTRACTIVE = "extractive.v1"
_CONTEXT_SECTIONS = frozenset({"indication", "history", "technique"})
MAX_REPORT_CHARS = 1200  # per report in a prompt: small local models have small contexts


@dataclass(frozen=True, slots=True)
class Answer:
    question: str | None
    reports: tuple[str, ...]  # ids retrieved, in the order given to the model
    answer: CheckedAnswer
    backend: str
    error: str | None = None  # why the model's answer could not be had

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer.text,
            "verified": self.answer.verified,
            "sentences": [s.to_dict() for s in self.answer.kept],
            "dropped": [f.to_dict() for f in self.answer.flagged],
            "reports": list(self.reports),
            "backend": self.backend,
            "error": self.error,
        }


def question_findings(question: str | None) -> frozenset[str]:
    """The findings a question asks about ("is there a pneumothorax?" -> pneumothorax),
    whatever certainty the reader gives a question's words."""
    from radpilot.reports import read

    return frozenset(m.finding for m in read(question).mentions) if question else frozenset()


def _states(report: StoredReport, findings: frozenset[str]) -> bool:
    from radpilot.reports import read

    return any(
        m.finding in findings and m.section not in _CONTEXT_SECTIONS
        for m in read(report.text).mentions
    )


def retrieve(
    store: ArchiveStore, question: str | None, *, patient: str | None, limit: int
) -> list[StoredReport]:
    """The reports a question is about (search ranking), or for a history summary every
    report of the patient (oldest first, the latest ``limit``). A question about a
    patient's finding gets every report of theirs that states it, present, absent or
    resolved (oldest first, the latest ``limit``): the search's own negation-aware ranking
    would leave out the report that says it is gone, the answer that matters most."""
    from radpilot.search.engine import search

    if question is None and patient is None:
        raise InputError("give a QUESTION, --patient P, or both")
    if patient is not None and any(c.isspace() or c == '"' for c in patient):
        raise InputError("--patient: an id without spaces or quotes")
    asked = question_findings(question)
    if patient is not None and (question is None or asked):
        hits = search(store, f"patient:{patient}", limit=max(limit, 200), semantic=False).hits
        reports = [h.report for h in hits]
        if asked:
            reports = [r for r in reports if _states(r, asked)]
        reports.sort(key=lambda r: (r.study_date or "", r.id))
        return reports[-limit:]
    words = question or ""
    if patient is not None:
        words = f"{words} patient:{patient}".strip()
    return [h.report for h in search(store, words, limit=limit, semantic=False).hits]


def _block(reports: Sequence[StoredReport]) -> str:
    parts = []
    for r in reports:
        text = r.text if len(r.text) <= MAX_REPORT_CHARS else r.text[:MAX_REPORT_CHARS] + " ..."
        parts.append(f"[{r.id}] ({r.study_date or 'undated'}):\n{text}")
    return "\n\n".join(parts)


def extractive(
    reports: Sequence[StoredReport], asked: frozenset[str] = frozenset()
) -> CheckedAnswer:
    """Each report's sentences that state a finding (one of ``asked`` when given), cited
    by its id (nothing generated)."""
    from radpilot.reports import read

    kept = []
    for r in reports:
        report = read(r.text)
        seen: set[int] = set()
        for m in report.mentions:
            if m.section in ("indication", "history", "technique") or m.sentence.start in seen:
                continue
            if asked and m.finding not in asked:
                continue
            seen.add(m.sentence.start)
            text = f"{m.sentence.text.strip()} [{r.id}]"
            kept.append(CitedSentence(text, (r.id,), claims_of(m.sentence.text)))
    return CheckedAnswer(tuple(kept), ())


def answer(
    store: ArchiveStore,
    question: str | None,
    *,
    patient: str | None = None,
    model: ChatModel | None = None,
    limit: int = 5,
) -> Answer:
    """Answer ``question`` (or, without one, summarise the patient's history) from the
    archive, every sentence cited and checked."""
    reports = retrieve(store, question, patient=patient, limit=limit)
    ids = tuple(r.id for r in reports)
    asked = question_findings(question)
    if model is None or not reports:
        return Answer(question, ids, extractive(reports, asked), EXTRACTIVE)
    try:
        if question is None:
            reply = ask_model(model, "summarise", reports=_block(reports))
        else:
            reply = ask_model(model, "ask", reports=_block(reports), question=question)
    except LLMError as exc:
        return Answer(question, ids, extractive(reports, asked), EXTRACTIVE, error=str(exc))
    checked = verify_answer(reply, {r.id: r.text for r in reports})
    return Answer(question, ids, checked, model.name)

"""QA of a signed report: problems a second reader would raise, each with its evidence.

Built on the report reader: every check works on its mentions (finding, certainty,
laterality, locations, section, spans), never on the raw words, except the two places the
reader has no words for (a communication statement, sex-specific anatomy), which use the
phrases of ``data/qa_rules.json``. Precision first: a rule fires only where the reader is
sure of both sides of a problem (a hedged mention never counts; a narrowed negation such as
"no large effusion" contradicts nothing).

>>> problems = check("FINDINGS: Small left pleural effusion.\\nIMPRESSION: Right pleural effusion.")
>>> [(p.kind.value, [e.text for e in p.evidence]) for p in problems]
[('laterality_conflict', ['left', 'Right'])]
>>> check("FINDINGS: No left effusion; small right effusion.\\nIMPRESSION: Small right effusion.")
()
"""

from __future__ import annotations

from collections.abc import Sequence

from radpilot.errors import InputError
from radpilot.reports.matcher import scan
from radpilot.reports.models import Report, Span
from radpilot.reports.reader import read
from radpilot.workflow import qachecks, qaexam, qaomissions
from radpilot.workflow.qarules import qa_rules
from radpilot.workflow.qatypes import (
    Facts,
    ImageFinding,
    Problem,
    ProblemKind,
    Severity,
    Sex,
    phrase_regex,
)

__all__ = ["ImageFinding", "Problem", "ProblemKind", "Severity", "Sex", "check"]

MAX_TEXT_CHARS = 100_000  # as `radpilot label`: a longer report is checked on its start


def check(
    text: str,
    *,
    image: Sequence[ImageFinding] = (),
    exam: str | None = None,
    sex: Sex | str | None = None,
) -> tuple[Problem, ...]:
    """Every problem found in one report, in text order; ``()`` when none.

    ``image``: the image model's findings for the same study (``image_findings`` reads
    them from analysis.json); ``exam``: the examination's name ("LEFT RIBS 2 VIEWS"), by
    default the report's own EXAMINATION line (its side and the regions it images are checked);
    ``sex``: "F" or "M", the patient's sex as registered.
    """
    if not isinstance(text, str):
        raise InputError(f"report text must be a string, got {type(text).__name__}")
    sex = Sex(sex) if sex is not None else None
    text = text[:MAX_TEXT_CHARS]
    report = read(text)
    facts = Facts(report, scan(text), qa_rules())
    problems: list[Problem] = []
    problems += qachecks.laterality_between_sections(facts)
    problems += qaomissions.missing_from_impression(facts)
    problems += qaomissions.critical_not_communicated(facts)
    problems += qachecks.contradictions(facts)
    exam = exam or examination_line(report)
    if exam:
        problems += qachecks.exam_laterality(facts, exam)
        problems += qaexam.exam_inconsistent(facts, exam)
    if image:
        problems += qachecks.against_image(facts, image)
    if sex is not None:
        problems += sex_inconsistent(facts, sex)
    problems.sort(key=lambda p: (p.evidence[0].start if p.evidence else len(text), p.kind))
    return tuple(problems)


def examination_line(report: Report) -> str | None:
    """The report's own EXAMINATION line without its header ("LEFT RIBS 2 VIEWS"), the
    exam to check when the caller names none; None when the report has no such section."""
    for section in report.sections:
        if section.name == "examination":
            body = report.text[section.start : section.end]
            return body.split(":", 1)[1] if ":" in body else body
    return None


# -- sex-specific anatomy ----------------------------------------------------------------


def sex_inconsistent(facts: Facts, sex: Sex) -> list[Problem]:
    """Anatomy or a procedure of the other sex ("prostate" for a female patient), unless
    the clinical ConText rules say it is someone else's ("mother had ovarian cancer") or
    hypothetical."""
    from radpilot.reports.targets import Experiencer, read_targets

    words = facts.rules.sex_words
    other = words.male if sex is Sex.FEMALE else words.female
    pattern = phrase_regex(tuple(other))
    if pattern is None:
        return []
    text = facts.report.text
    hits = [m.span() for m in pattern.finditer(text)]
    if not hits:
        return []
    out: list[Problem] = []
    patient = "female" if sex is Sex.FEMALE else "male"
    for (s, e), a in zip(hits, read_targets(text, hits), strict=True):
        if a.experiencer is not Experiencer.PATIENT or a.hypothetical:
            continue
        out.append(
            Problem(
                ProblemKind.SEX_INCONSISTENT,
                f"'{text[s:e].lower()}' in the report of a {patient} patient",
                (Span(s, e, text[s:e]),),
                Severity.MEDIUM,
            )
        )
    return out


MAX_FILE_BYTES = 4 * MAX_TEXT_CHARS  # enough for any report in any UTF encoding


def report_text(data: bytes, where: str) -> str:
    """The text of a report file's bytes (decoded by BOM or UTF-16 sniff, else UTF-8 with
    undecodable bytes replaced; control characters become spaces so that offsets hold).
    A file that is empty or binary is one error line naming ``where``."""
    from radpilot.reports.textfile import clean_text, sniff_encoding

    text = data[:MAX_FILE_BYTES].decode(sniff_encoding(data[:65536]), errors="replace")
    text = text.removeprefix("\ufeff")
    cleaned, _note, binary = clean_text(text, keep_length=True)
    if binary:
        raise InputError(f"{where}: not a text report (binary data)")
    if not cleaned.strip():
        raise InputError(f"{where}: the report is empty")
    return cleaned

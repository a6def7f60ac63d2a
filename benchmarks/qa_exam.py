"""The exam checks of ``radpilot qa`` (``exam_inconsistent``, the exam's side) on the OpenI
development reports.

OpenI's studies are frontal and lateral chest radiographs, and its reports carry no
EXAMINATION line. Each development report is checked three ways: with its true exam
("CHEST PA AND LATERAL": every alarm is false), and with two wrong ones, a knee series
("RIGHT KNEE 3 VIEWS": a present chest finding is inconsistent) and a one-view chest
("CHEST 1 VIEW": a statement about the lateral view is). Printed: alarms per 100 untouched
reports, and for the wrong exams the reports flagged with their evidence words (for a
reader to judge; there is no independent criterion of "a chest finding" here).

Usage: ``python benchmarks/qa_exam.py [--shared DIR]``.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from draft_readback import dev_reports, shared_dir

from radpilot.workflow.qa import check

TRUE_EXAM = "CHEST PA AND LATERAL"
WRONG = ("RIGHT KNEE 3 VIEWS", "CHEST 1 VIEW")
KINDS = ("exam_inconsistent", "laterality_conflict")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=os.environ.get("RADPILOT_SHARED"))
    args = ap.parse_args()
    reports = dev_reports(shared_dir(args.shared), None)
    n = len(reports)
    base = Counter(p.kind.value for r in reports for p in check(r.text) if p.kind.value in KINDS)
    true = Counter(
        p.kind.value
        for r in reports
        for p in check(r.text, exam=TRUE_EXAM)
        if p.kind.value in KINDS
    )
    print(f"OpenI development reports: {n}")
    for kind in KINDS:
        print(
            f"  {kind:<22} alarms per 100, no exam {100 * base[kind] / n:.2f}; "
            f"exam {TRUE_EXAM!r} {100 * true[kind] / n:.2f}"
        )
    for exam in WRONG:
        flagged = 0
        words: Counter[str] = Counter()
        for r in reports:
            found = [p for p in check(r.text, exam=exam) if p.kind.value == "exam_inconsistent"]
            flagged += bool(found)
            words.update(e.text.lower() for p in found for e in p.evidence)
        top = ", ".join(f"{w!r} {c}" for w, c in words.most_common(8))
        print(f"  exam {exam!r}: {flagged} / {n} reports flagged; evidence: {top}")


if __name__ == "__main__":
    main()

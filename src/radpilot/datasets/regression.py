"""Annotators' corrections of report labels as cases of the reader's regression suite
(``tests/reports/regression_cases.jsonl``: ``{"id", "category", "text", "expect", "note"}``),
so the reader learns from its users.

One case per item where the final labels differ from radpilot's, ``category``
``annotator-correction``, ``expect`` holding only the corrected CheXpert labels. That suite
runs under the ``chexpert`` uncertainty policy while datasets are proposed under radpilot's:
a corrected label on which the two policies differ for that text is left out of ``expect``
(the note says how many), so a case never pins a policy difference as a reader error.
De-identified items cannot become cases (a case needs the text as written).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from radpilot.datasets.bundle import Bundle
from radpilot.datasets.models import DatasetError, Task
from radpilot.datasets.proposals import MAX_REPORT_CHARS

CATEGORY = "annotator-correction"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    expect: dict[str, float | None]
    note: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "category": CATEGORY,
            "text": self.text,
            "expect": self.expect,
            "note": self.note,
        }


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "dataset"


def correction_cases(b: Bundle) -> list[Case]:
    from radpilot.reports import read
    from radpilot.reports.labels import label
    from radpilot.reports.labelsets import CHEXPERT

    ds = b.dataset
    if ds.task is not Task.REPORT_LABELS or ds.label_set != "chexpert":
        raise DatasetError(
            f"dataset {ds.name!r}: regression cases are CheXpert report labels "
            f"(this one is {ds.task.value}, {ds.label_set})"
        )
    cases: list[Case] = []
    for it in b.items:
        final = b.labels(it)
        ours = {name: it.radpilot_labels().get(name) for name in ds.labels}
        changed = {k: v for k, v in final.items() if v != ours[k]}
        if not changed or not it.text.strip():
            continue
        report = read(it.text[:MAX_REPORT_CHARS])
        by_chexpert = label(report, CHEXPERT, policy="chexpert")
        kept = {k: v for k, v in changed.items() if by_chexpert[k] == ours[k]}
        if not kept:
            continue
        dropped = len(changed) - len(kept)
        how = b.resolution.how[it.id]
        note = f"from dataset {ds.name}, item {it.position} ({how}); radpilot said " + ", ".join(
            f"{k} {ours[k]}" for k in kept
        )
        if dropped:
            note += f"; {dropped} correction(s) on a policy-dependent label left out"
        cases.append(Case(f"{_slug(ds.name)}-{it.position}", it.text, kept, note))
    return cases


def write_cases(b: Bundle, out: Path) -> int:
    if b.deid is not None:
        raise DatasetError("regression cases need the report text; not with --deidentify")
    cases = correction_cases(b)
    with open(out, "w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    return len(cases)

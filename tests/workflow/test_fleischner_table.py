"""A labelled table of nodule sentences (issue 11 §Follow-ups 3): each row was written and
labelled by hand from the Fleischner 2017 table (size as the rounded mean of two axes,
solid / subsolid, single / multiple, risk as the report states it), with the first
follow-up window the guideline gives, in days (months x 30; None: no routine follow-up).
The expected windows are written out, not read from the data file, so a wrong row of
``fleischner_2017.json`` fails here too."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from radpilot.workflow.fleischner import assess_text

NEVER = "INDICATION: 60-year-old never smoker. "
SMOKER = "INDICATION: 60-year-old smoker. "

LOW_6_12 = (180, 360)
MULTI_3_6 = (90, 180)
AT_3 = (90, 90)
AT_12 = (360, 360)


class Row(NamedTuple):
    text: str
    size_mm: int
    type: str
    multiplicity: str
    risk: str
    rules: list[str]
    windows: list[tuple[int, int] | None]  # the first step of each rule, in days


ROWS = [
    Row(NEVER + "FINDINGS: 0.6 cm solid nodule in the right middle lobe.",
        6, "solid", "single", "low", ["solid-single-6to8-low"], [LOW_6_12]),
    Row("INDICATION: 58-year-old former smoker, 30 pack-years. FINDINGS: 8 x 6 mm nodule in "
        "the left upper lobe.", 7, "solid", "single", "high", ["solid-single-6to8-high"],
        [LOW_6_12]),
    Row("INDICATION: 70-year-old never-smoker. FINDINGS: 1.4 x 1.0 cm nodule in the right "
        "lower lobe.", 12, "solid", "single", "low", ["solid-single-gt8-low"], [AT_3]),
    Row("INDICATION: 66 y/o male, current smoker. FINDINGS: 5.4 x 4.8 mm nodule in the "
        "lingula.", 5, "solid", "single", "high", ["solid-single-lt6-high"], [AT_12]),
    Row("INDICATION: 52-year-old with no smoking history. FINDINGS: 6.5 mm nodule in the right "
        "upper lobe.", 7, "solid", "single", "low", ["solid-single-6to8-low"], [LOW_6_12]),
    # a negated risk factor is a statement of low risk, not a risk factor
    Row("INDICATION: 61-year-old. Smoking history: none. FINDINGS: 5 mm nodule in the left "
        "lower lobe.", 5, "solid", "single", "low", ["solid-single-lt6-low"], [None]),
    Row("INDICATION: 49-year-old, denies smoking. FINDINGS: 7 mm nodule in the right upper "
        "lobe.", 7, "solid", "single", "low", ["solid-single-6to8-low"], [LOW_6_12]),
    Row("INDICATION: 57-year-old with no history of smoking. FINDINGS: 4 mm nodule in the "
        "right upper lobe.", 4, "solid", "single", "low", ["solid-single-lt6-low"], [None]),
    Row("INDICATION: 65-year-old who never smoked. FINDINGS: 7 mm nodule in the left upper "
        "lobe.", 7, "solid", "single", "low", ["solid-single-6to8-low"], [LOW_6_12]),
    Row("INDICATION: Cough; quit smoking 10 years ago. FINDINGS: 7 mm nodule in the left upper "
        "lobe.", 7, "solid", "single", "high", ["solid-single-6to8-high"], [LOW_6_12]),
    # someone else's cancer is a risk factor, not the patient's known cancer
    Row("INDICATION: 62-year-old with a family history of lung cancer. FINDINGS: 7 mm nodule "
        "in the right lower lobe.", 7, "solid", "single", "high", ["solid-single-6to8-high"],
        [LOW_6_12]),
    Row("INDICATION: 55-year-old, no history of cancer. FINDINGS: 7 mm nodule in the right "
        "lower lobe.", 7, "solid", "single", "unknown",
        ["solid-single-6to8-low", "solid-single-6to8-high"], [LOW_6_12, LOW_6_12]),
    Row(NEVER + "FINDINGS: Two solid nodules in the right lung measuring 7 mm and 5 mm.",
        7, "solid", "multiple", "low", ["solid-multiple-6to8-low"], [MULTI_3_6]),
    Row(SMOKER + "FINDINGS: Bilateral pulmonary nodules, the largest 4 mm.",
        4, "solid", "multiple", "high", ["solid-multiple-lt6-high"], [AT_12]),
    # "no other nodules" names no second nodule; two singular nodules are multiple
    Row(NEVER + "FINDINGS: A 7 mm nodule in the right upper lobe; no other nodules are seen.",
        7, "solid", "single", "low", ["solid-single-6to8-low"], [LOW_6_12]),
    Row(NEVER + "FINDINGS: A 6 mm nodule in the right upper lobe and a 4 mm nodule in the left "
        "lower lobe.", 6, "solid", "multiple", "low", ["solid-multiple-6to8-low"], [MULTI_3_6]),
    Row("FINDINGS: 9 mm pure ground-glass nodule in the left upper lobe.",
        9, "ground_glass", "single", "unknown", ["ggn-single-ge6"], [LOW_6_12]),
    Row("FINDINGS: 4 mm nonsolid nodule in the right lower lobe.",
        4, "ground_glass", "single", "unknown", ["ggn-single-lt6"], [None]),
    Row("FINDINGS: Part-solid nodule measuring 9 mm with a 3 mm solid component in the right "
        "upper lobe.", 9, "part_solid", "single", "unknown", ["part-solid-single-ge6"],
        [MULTI_3_6]),
    Row("FINDINGS: Multiple ground-glass nodules, the largest 8 mm.",
        8, "ground_glass", "multiple", "unknown", ["subsolid-multiple-ge6"], [MULTI_3_6]),
    Row("FINDINGS: Several subsolid nodules measuring up to 4 mm.",
        4, "subsolid", "multiple", "unknown", ["subsolid-multiple-lt6"], [MULTI_3_6]),
    Row("INDICATION: 45-year-old nonsmoker. FINDINGS: Solitary 11 mm spiculated nodule in the "
        "right upper lobe.", 11, "solid", "single", "high", ["solid-single-gt8-high"], [AT_3]),
    Row("FINDINGS: 3 mm nodule in the right upper lobe.", 3, "solid", "single", "unknown",
        ["solid-single-lt6-low", "solid-single-lt6-high"], [None, AT_12]),
    Row("INDICATION: 72 yo smoker. FINDINGS: Right upper lobe nodule measuring 1.0 x 0.8 cm.",
        9, "solid", "single", "high", ["solid-single-gt8-high"], [AT_3]),
    Row("INDICATION: 60-year-old ex-smoker. FINDINGS: 7 mm nodule in the left upper lobe.",
        7, "solid", "single", "high", ["solid-single-6to8-high"], [LOW_6_12]),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r.rules[0]}" for i, r in enumerate(ROWS)])
def test_nodule_sentence_gets_the_guideline_interval(row: Row) -> None:
    (a,) = assess_text(row.text)
    assert a.excluded is None
    got = (a.size_mm, a.type, a.multiplicity, a.risk, [o.rule for o in a.options])
    assert got == (row.size_mm, row.type, row.multiplicity, row.risk, row.rules)
    windows = [None if o.min_days is None else (o.min_days, o.max_days) for o in a.options]
    assert windows == row.windows


# (nodule report, recommendation, whether the guideline contradicts it)
CONFLICTS = [
    (NEVER + "FINDINGS: 7 mm nodule.", "Recommend CT in 1 year.", False),
    (SMOKER + "FINDINGS: 4 mm nodule.", "Annual CT is recommended.", False),
    (NEVER + "FINDINGS: 7 mm nodule.", "Recommend CT in 12 months.", False),
    (NEVER + "FINDINGS: 12 mm nodule.", "Recommend CT in 6 months.", True),
    (NEVER + "FINDINGS: 12 mm nodule.", "No further follow-up is needed.", True),
    (NEVER + "FINDINGS: 12 mm nodule.", "Tissue sampling is recommended.", False),
    (NEVER + "FINDINGS: Two nodules measuring 7 mm and 5 mm.", "Recommend CT in 3-6 months.",
     False),
    (NEVER + "FINDINGS: 4 mm nodule.", "Recommend CT in 12 months.", True),
    (NEVER + "FINDINGS: 4 mm nodule.", "No follow-up CT is needed.", False),
    ("FINDINGS: 9 mm ground-glass nodule.", "Recommend CT in 3 months.", True),
    ("FINDINGS: 9 mm part-solid nodule.", "Recommend CT in 3-6 months.", False),
    (NEVER + "FINDINGS: 7 mm nodule.", "Follow-up chest radiograph in 6 months.", True),
    ("FINDINGS: 7 mm nodule.", "Recommend CT in 18 months.", True),
    (NEVER + "FINDINGS: 7 mm nodule.", "Follow-up in 6 to 12 months.", False),
    ("INDICATION: 61-year-old. Smoking history: none. FINDINGS: 5 mm nodule.",
     "Recommend CT in 12 months.", True),
    (NEVER + "FINDINGS: A 7 mm nodule; no other nodules are seen.", "Recommend CT in 3 months.",
     True),
    (SMOKER + "FINDINGS: 7 mm nodule.", "Recommend CT in 6-12 months, then at 18-24 months.",
     False),
]  # fmt: skip


@pytest.mark.parametrize(("report", "rec", "conflict"), CONFLICTS)
def test_contradicting_recommendations_are_flagged(report: str, rec: str, conflict: bool) -> None:
    (a,) = assess_text(report + " IMPRESSION: " + rec)
    assert bool(a.conflicts) is conflict, [c.reason for c in a.conflicts]

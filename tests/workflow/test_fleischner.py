"""The Fleischner Society 2017 table: every row reached from report text, risk stated or
not, the exclusions, and the check of a report's recommendation against the guideline."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.datafiles import parse
from radpilot.errors import VocabularyError
from radpilot.workflow.fleischner import (
    FLEISCHNER,
    FleischnerFile,
    assess_text,
    citation,
    options_for,
    size_from,
)

SMOKER = "INDICATION: 60-year-old smoker. "
NONSMOKER = "INDICATION: 60-year-old never smoker. "

# (text, the rule ids that apply), one case per row of the table
ROWS = [
    (NONSMOKER + "FINDINGS: 4 mm solid nodule in the right upper lobe.", ["solid-single-lt6-low"]),
    (SMOKER + "FINDINGS: 4 mm solid nodule in the right upper lobe.", ["solid-single-lt6-high"]),
    (NONSMOKER + "FINDINGS: 7 mm nodule in the left lower lobe.", ["solid-single-6to8-low"]),
    (SMOKER + "FINDINGS: 8 mm nodule in the left lower lobe.", ["solid-single-6to8-high"]),
    (NONSMOKER + "FINDINGS: 1.2 cm nodule in the lingula.", ["solid-single-gt8-low"]),
    (SMOKER + "FINDINGS: 9 mm nodule in the lingula.", ["solid-single-gt8-high"]),
    (NONSMOKER + "FINDINGS: Multiple nodules measuring up to 5 mm.", ["solid-multiple-lt6-low"]),
    (SMOKER + "FINDINGS: Multiple nodules measuring up to 5 mm.", ["solid-multiple-lt6-high"]),
    (NONSMOKER + "FINDINGS: Several nodules, the largest 7 mm.", ["solid-multiple-6to8-low"]),
    (SMOKER + "FINDINGS: Several nodules, the largest 7 mm.", ["solid-multiple-6to8-high"]),
    (NONSMOKER + "FINDINGS: Multiple nodules up to 12 mm.", ["solid-multiple-gt8-low"]),
    (SMOKER + "FINDINGS: Multiple nodules up to 12 mm.", ["solid-multiple-gt8-high"]),
    ("FINDINGS: 5 mm ground-glass nodule in the right upper lobe.", ["ggn-single-lt6"]),
    ("FINDINGS: 8 mm ground-glass nodule in the right upper lobe.", ["ggn-single-ge6"]),
    ("FINDINGS: 5 mm part-solid nodule in the right upper lobe.", ["part-solid-single-lt6"]),
    ("FINDINGS: 1.1 x 0.9 cm part-solid nodule in the left upper lobe.", ["part-solid-single-ge6"]),
    ("FINDINGS: Multiple ground-glass nodules up to 5 mm.", ["subsolid-multiple-lt6"]),
    ("FINDINGS: Multiple subsolid nodules up to 7 mm.", ["subsolid-multiple-ge6"]),
]


@pytest.mark.parametrize(("text", "rules"), ROWS, ids=[r[0] for _, r in ROWS])
def test_each_row_of_the_table(text: str, rules: list[str]) -> None:
    (a,) = assess_text(text)
    assert a.excluded is None
    assert [o.rule for o in a.options] == rules


def test_every_row_of_the_data_file_has_a_case() -> None:
    covered = {rule for _, rules in ROWS for rule in rules}
    assert {r.id for r in FLEISCHNER.load().rules} == covered


def test_unstated_risk_gives_both_rows() -> None:
    (a,) = assess_text("FINDINGS: 7 mm nodule in the right upper lobe.")
    assert a.risk == "unknown"
    assert [o.risk for o in a.options] == ["low", "high"]


@pytest.mark.parametrize(
    ("span_text", "per_unit", "mm"),
    [("7 mm", 1.0, 7), ("1.2 x 0.8 cm", 10.0, 10), ("5.5 mm", 1.0, 6), ("8.4 mm", 1.0, 8)],
)
def test_size_is_the_rounded_mean_of_two_axes(span_text: str, per_unit: float, mm: int) -> None:
    assert size_from(span_text, per_unit) == mm


def test_boundaries_of_the_size_bins() -> None:
    assert [o.rule for o in options_for("solid", "single", 5, "low")] == ["solid-single-lt6-low"]
    assert [o.rule for o in options_for("solid", "single", 6, "low")] == ["solid-single-6to8-low"]
    assert [o.rule for o in options_for("solid", "single", 8, "low")] == ["solid-single-6to8-low"]
    assert [o.rule for o in options_for("solid", "single", 9, "low")] == ["solid-single-gt8-low"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("INDICATION: 25-year-old with cough. FINDINGS: 7 mm nodule.", "younger than 35"),
        ("INDICATION: History of lung cancer. FINDINGS: 7 mm nodule.", "known cancer"),
        ("INDICATION: Renal transplant recipient. FINDINGS: 7 mm nodule.", "immunocompromised"),
        ("INDICATION: Lung cancer screening. FINDINGS: 7 mm nodule.", "screening"),
        ("FINDINGS: 5 mm calcified nodule, a granuloma.", "benign"),
        ("FINDINGS: 4.5 cm nodule in the right upper lobe.", "mass"),
    ],
)
def test_exclusions(text: str, why: str) -> None:
    (a,) = assess_text(text)
    assert a.excluded is not None and why in a.excluded
    assert a.options == ()


@pytest.mark.parametrize(
    ("text", "conflict"),
    [
        ("FINDINGS: 7 mm nodule. IMPRESSION: Recommend chest CT in 6-12 months.", False),
        ("FINDINGS: 7 mm nodule. IMPRESSION: Recommend chest CT in 3 months.", True),
        ("FINDINGS: 7 mm nodule. IMPRESSION: Follow-up chest radiograph in 6 months.", True),
        ("FINDINGS: 7 mm nodule. IMPRESSION: Recommend chest CT.", False),  # no interval
        ("FINDINGS: 7 mm nodule. IMPRESSION: No follow-up is needed.", True),
        (NONSMOKER + "FINDINGS: 4 mm nodule. IMPRESSION: No follow-up is needed.", False),
        (NONSMOKER + "FINDINGS: 4 mm nodule. IMPRESSION: Recommend CT in 3 months.", True),
        (SMOKER + "FINDINGS: 4 mm nodule. IMPRESSION: No follow-up is needed.", False),
        ("FINDINGS: 12 mm nodule. IMPRESSION: Recommend PET/CT.", False),
        ("FINDINGS: 7 mm nodule. IMPRESSION: Correlate clinically.", False),  # not imaging
    ],
)
def test_conflicting_recommendations_are_flagged(text: str, conflict: bool) -> None:
    (a,) = assess_text(text)
    assert bool(a.conflicts) is conflict, a.conflicts
    for c in a.conflicts:
        assert "Fleischner 2017" in c.reason and text[c.start : c.end]


def test_a_nodule_without_size_or_negated_is_not_assessed() -> None:
    assert assess_text("FINDINGS: Small nodule in the right upper lobe.") == []
    assert assess_text("FINDINGS: No 7 mm nodule is seen.") == []


def test_the_data_file_carries_its_citation_and_is_strict() -> None:
    assert "Radiology 2017;284" in citation() and "MacMahon" in citation()
    raw = FLEISCHNER.raw()
    raw["rules"][0]["steps"] = [{"min_months": 3, "max_months": 6, "modality": "CT", "when": 1}]
    with pytest.raises(VocabularyError, match=r"rules\[0\]\.steps\[0\]\.when: unknown key"):
        parse(raw, FleischnerFile, "fleischner.json")


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0.5, max_value=40, allow_nan=False),
    st.sampled_from(["", "ground-glass ", "part-solid "]),
    st.sampled_from(["nodule", "nodules"]),
)
def test_any_size_gives_at_most_two_rows(size: float, kind: str, noun: str) -> None:
    text = f"FINDINGS: {size:.1f} mm {kind}{noun} in the right upper lobe."
    for a in assess_text(text):
        assert len(a.options) <= 2
        assert (a.options == ()) == (a.excluded is not None)


def test_a_nodule_said_not_calcified_is_not_benign() -> None:
    (a,) = assess_text(
        "FINDINGS: There is a 1 cm nodule in the left lower lobe that is not calcified."
    )
    assert a.excluded is None and a.options

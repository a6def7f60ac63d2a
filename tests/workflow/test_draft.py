"""Template drafts: planned from phrases, an analysis and a prior; read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError, VocabularyError
from radpilot.reports import read
from radpilot.reports.vocabulary import findings as vocab_findings
from radpilot.workflow import verify
from radpilot.workflow.draft import draft_report, plan_draft
from radpilot.workflow.inputs import from_analysis, split_phrases
from radpilot.workflow.models import DifferenceKind
from radpilot.workflow.rules import drafting

NAMES = sorted(f.name for f in vocab_findings())


def _impression(report: str) -> list[str]:
    return [x for x in report.split("IMPRESSION:\n", 1)[1].splitlines() if x.strip()]


def test_issue_example_reads_back_exactly() -> None:
    d = draft_report(
        split_phrases("small left pleural effusion; cardiomegaly; no pneumothorax"),
        exam="CHEST 2 VIEWS",
    )
    assert d.verified and d.differences == () and d.backend == "template.v1"
    lines = d.report.splitlines()
    assert lines[:3] == ["EXAMINATION: CHEST 2 VIEWS", "COMPARISON: None.", "FINDINGS:"]
    assert "Pleura: Small left pleural effusion. No pneumothorax." in lines
    assert _impression(d.report) == ["1. Small left pleural effusion.", "2. Cardiomegaly."]
    assert set(d.to_dict()) == {"report", "verified", "differences", "backend"}


def test_the_same_finding_twice_is_stated_once() -> None:
    d = draft_report(["cardiomegaly", "the heart is enlarged"])
    assert d.verified and d.report.count("Cardiomegaly.") == 2  # FINDINGS and IMPRESSION


def test_impression_is_ordered_by_clinical_importance() -> None:
    d = draft_report(["right chest tube", "cardiomegaly", "large right pneumothorax", "mild edema"])
    assert [x.split(". ", 1)[1] for x in _impression(d.report)] == [
        "Large right pneumothorax.",
        "Mild pulmonary edema.",
        "Cardiomegaly.",
        "Right chest tube.",
    ]


def test_prior_gives_change_statements() -> None:
    prior = (
        "FINDINGS: Right chest tube in place. The heart is enlarged. Small right pneumothorax."
        "\nIMPRESSION: Small right pneumothorax."
    )
    d = draft_report(
        ["small left pleural effusion", "cardiomegaly", "no chest tube", "no pneumothorax"],
        prior=prior,
    )
    assert d.verified, d.differences
    for line in (
        "New small left pleural effusion.",
        "Unchanged cardiomegaly.",
        "Interval removal of the right chest tube.",
        "Resolved right pneumothorax.",
    ):
        assert line in d.report
    assert "COMPARISON: Prior report." in d.report


def test_prior_finding_not_addressed_is_noted_never_called_resolved() -> None:
    d = draft_report(["cardiomegaly"], prior="FINDINGS: Small left pleural effusion.")
    assert "pleural effusion" not in d.report.lower()  # no default "No pleural effusion."
    assert any("pleural_effusion" in n for n in d.notes)


def test_pertinent_negatives_yield_to_what_is_stated() -> None:
    d = draft_report(["possible right lower lobe pneumonia"])
    assert "No focal consolidation." not in d.report  # would contradict the pneumonia
    assert "No pneumothorax." in d.report
    bare = draft_report(["cardiomegaly"], pertinent_negatives=False)
    assert "No " not in bare.report and bare.verified


def test_analysis_positives_become_statements(tmp_path: Path) -> None:
    data = [
        {
            "findings": [
                {"name": "Effusion", "probability": 0.9, "positive": True, "threshold": 0.5},
                {"name": "Pneumothorax", "probability": 0.1, "positive": False, "threshold": 0.5},
                {"name": "No Finding", "probability": 0.9, "positive": True, "threshold": 0.5},
            ]
        }
    ]
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(data))
    statements, notes = from_analysis(path)
    assert [s.finding for s in statements] == ["pleural_effusion"]
    assert notes and "No Finding" in notes[0]
    d = draft_report(["no pleural effusion"], analysis=path)
    assert d.verified and any("left out" in n for n in d.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a JSON file"),
        ('[{"findings": [{"name": "Effusion"}]}]', "positive must be true or false"),
        ('[{"findings": 3}]', "findings is not a list"),
        ("[7]", "is not an object"),
    ],
)
def test_bad_analysis_is_one_line_naming_the_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "a.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        from_analysis(path)
    assert "\n" not in str(info.value)


def test_phrase_without_finding_is_named_by_position_not_text() -> None:
    with pytest.raises(InputError) as info:
        plan_draft(["cardiomegaly", "patient name John Smith"])
    assert "phrase 2 of 2" in str(info.value) and "John" not in str(info.value)
    with pytest.raises(InputError, match="nothing to draft"):
        plan_draft([])


def test_exam_selects_template_and_unknown_exam_is_an_error() -> None:
    assert (
        plan_draft(["cardiomegaly"], exam="XR CHEST PA AND LATERAL").template.id
        == "chest_radiograph"
    )
    with pytest.raises(VocabularyError, match="no report template covers"):
        plan_draft(["cardiomegaly"], exam="MRI BRAIN")


def test_every_region_header_and_negative_reads_as_itself() -> None:
    for template in drafting().templates:
        for region in template.regions:
            assert read(f"FINDINGS:\n{region.header}: ").mentions == ()
            for neg in region.negatives:
                got = [
                    (m.finding, m.certainty.value) for m in read(f"FINDINGS: {neg.text}").mentions
                ]
                assert got == [(neg.finding, "absent")], neg.text
        assert read(f"IMPRESSION: {template.empty_impression}").mentions == ()


def test_a_draft_that_lies_is_not_verified() -> None:
    d = draft_report(["small left pleural effusion", "no pneumothorax"])
    lied = d.report.replace("left pleural", "right pleural").replace("No pneumothorax.", "")
    lied += "Right lower lobe pneumonia.\n"
    kinds = {(x.kind, x.finding) for x in verify.differences(lied, d.statements)}
    assert kinds == {
        (DifferenceKind.LATERALITY, "pleural_effusion"),
        (DifferenceKind.MISSING, "pneumothorax"),
        (DifferenceKind.ADDED, "pneumonia"),
    }
    flipped = d.report.replace("Small left pleural effusion.", "No left pleural effusion.")
    assert {x.kind for x in verify.differences(flipped, d.statements)} == {
        DifferenceKind.CERTAINTY,
        DifferenceKind.SEVERITY,  # "small" is gone with it
    }
    larger = d.report.replace("Small left", "Large left")
    (diff,) = verify.differences(larger, d.statements)
    assert (diff.kind, diff.expected, diff.got) == (DifferenceKind.SEVERITY, "small", "large")


# -- property: drafts from any findings of the vocabulary read back exactly -------------

_CERTAINTY = st.sampled_from(["", "no ", "possible ", "likely "])
_SIDE = st.sampled_from(["", "left ", "right ", "bilateral "])
_SEVERITY = st.sampled_from(["", "small ", "moderate ", "large ", "mild "])
_CHANGE = st.sampled_from(["", "new ", "unchanged ", "increased ", "decreased "])


@st.composite
def phrase(draw: st.DrawFn) -> str:
    certainty = draw(_CERTAINTY)
    body = draw(_SEVERITY) + draw(_SIDE) + draw(st.sampled_from(NAMES))
    if certainty == "no ":
        return certainty + body
    return certainty + draw(_CHANGE) + body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phrases=st.lists(phrase(), min_size=1, max_size=5), prior=st.lists(phrase(), max_size=3))
def test_template_drafts_read_back_exactly(phrases: list[str], prior: list[str]) -> None:
    try:
        plan_draft(phrases)
    except InputError:
        assume(False)  # a phrase the reader reads as no finding: nothing to draft
    prior_text = (
        "FINDINGS: " + " ".join(p[:1].upper() + p[1:] + "." for p in prior) if prior else None
    )
    d = draft_report(phrases, prior=prior_text)
    assert d.verified, (d.report, d.differences)


def test_analysis_json_as_radpilot_analyze_writes_it(tmp_path: Path) -> None:
    from radpilot.imaging.results import FindingResult, ImageResult

    result = ImageResult(
        path="cxr.dcm",
        model="densenet121-res224-all",
        findings=(
            FindingResult("Cardiomegaly", 0.91, 0.5, True),
            FindingResult("Pleural_Thickening", 0.7, 0.6, True),
            FindingResult("Pneumothorax", 0.02, 0.4, False),
        ),
    )
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps([result.to_dict()]))
    d = draft_report(analysis=path)
    assert d.verified
    assert [s.finding for s in d.statements if s.source.value == "analysis"] == [
        "cardiomegaly",
        "pleural_thickening",
    ]
    assert "No pneumothorax." in d.report  # the template's negative, not the model's

"""The worklist's ranking function: a case table (critical first, urgency, waiting time,
the ageing cap), the rule file's strict loader, and the analysis-file parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.datafiles import parse
from radpilot.errors import VocabularyError
from radpilot.workflow.intake import parse_analysis
from radpilot.workflow.studies import StudyError
from radpilot.workflow.worklist import WORKLIST, Case, WorklistRule, default_rule, rank, study_case

PTX = {"Pneumothorax": 0.93}

# (cases, now in minutes, expected reading order)
CASES = [
    pytest.param(
        [Case("old", 0, "routine", 0.1), Case("ptx", 50, "urgent", 0.93, PTX)],
        60,
        ["ptx", "old"],
        id="critical-before-earlier-routine",
    ),
    pytest.param(
        [Case("a", 0, "routine", 0.1), Case("b", 30, "routine", 0.1)],
        60,
        ["a", "b"],
        id="same-urgency-earlier-first",
    ),
    pytest.param(
        [Case("routine", 0, "routine", 0.2), Case("urgent", 55, "urgent", 0.8)],
        60,
        ["urgent", "routine"],
        id="urgent-before-routine",
    ),
    pytest.param(
        [Case("routine", 0, "routine", 0.2), Case("urgent", 230, "urgent", 0.8)],
        241,
        ["routine", "urgent"],
        id="ageing-cap-overdue-routine-first",
    ),
    pytest.param(
        [Case("ptx", 200, "urgent", 0.9, PTX), Case("r1", 0, "routine"), Case("r2", 5, "routine")],
        250,
        ["ptx", "r1", "r2"],
        id="critical-before-overdue-then-longest-wait-first",
    ),
    pytest.param(
        [Case("blocked", 10, "not_assessed"), Case("r", 0, "routine", 0.3)],
        20,
        ["blocked", "r"],
        id="not-assessed-above-routine",
    ),
    pytest.param(
        [Case("new", 10, "unanalysed"), Case("r", 10, "routine", 0.0)],
        20,
        ["new", "r"],
        id="unanalysed-above-routine",
    ),
    pytest.param(
        [Case("r", 0, "routine", 0.1), Case("u", 200, "urgent", 0.75)],
        235,
        ["u", "r"],
        id="waiting-alone-does-not-beat-urgent-before-cap",
    ),
]


@pytest.mark.parametrize(("cases", "now", "order"), CASES)
def test_reading_order(cases: list[Case], now: float, order: list[str]) -> None:
    assert [r.case.key for r in rank(cases, now)] == order


def test_overdue_before_critical_when_the_rule_says_so() -> None:
    rule = default_rule().model_copy(update={"critical_before_overdue": False})
    cases = [Case("ptx", 200, "urgent", 0.9, PTX), Case("r1", 0, "routine")]
    assert [r.case.key for r in rank(cases, 250, rule)] == ["r1", "ptx"]


def test_reasons_name_what_placed_it() -> None:
    ranked = {
        r.case.key: r
        for r in rank([Case("p", 0, "urgent", 0.9, PTX), Case("o", -300, "routine")], 10)
    }
    assert ranked["p"].reasons[0] == "critical finding: pneumothorax (p=0.93)"
    assert "waiting 10 min" in ranked["p"].reasons
    assert ranked["o"].overdue and ranked["o"].reasons[0].startswith("overdue: waiting 310 min")


def test_rule_file_is_strict() -> None:
    raw = WORKLIST.raw()
    with pytest.raises(VocabularyError, match="tier_points"):
        parse({**raw, "tier_points": {"urgent": 1}}, WorklistRule, "worklist.json")
    bad = {**raw, "critical": [{**raw["critical"][0], "finding": "pneumothorax"}]}
    with pytest.raises(VocabularyError, match="canonical name"):
        parse(bad, WorklistRule, "worklist.json")
    with pytest.raises(VocabularyError, match="ageing_cap_minutes"):
        parse({**raw, "ageing_cap_minutes": 0}, WorklistRule, "worklist.json")
    assert default_rule().ageing_cap_minutes == raw["ageing_cap_minutes"]


def _image(uid: str | None, tier: str, score: float, positive: bool = False) -> dict[str, Any]:
    return {
        "path": "x.dcm",
        "findings": [{"name": "Pneumothorax", "probability": score, "positive": positive}],
        "urgency": {"tier": tier, "score": score, "reasons": [f"{tier} reason"]},
        "metadata": {"study_uid": uid, "patient_id": "P1", "modality": "DX"},
        "outputs": {},
    }


def test_analysis_groups_images_by_study() -> None:
    raw = [
        _image("1.1", "routine", 0.2),
        _image("1.1", "urgent", 0.9, True),
        _image("1.2", "not_assessed", 0.0),
    ]
    by_uid = {i.record.study_uid: i for i in parse_analysis(raw, "a.json").intakes}
    assert by_uid["1.1"].urgency is not None and by_uid["1.1"].urgency.tier == "urgent"
    assert by_uid["1.1"].urgency.score == 0.9 and len(by_uid["1.1"].analysis) == 2
    assert by_uid["1.2"].urgency is not None and by_uid["1.2"].urgency.tier == "not_assessed"


def test_images_without_a_study_are_left_out_not_the_file() -> None:
    png = {"path": "x.png", "findings": [], "metadata": {"format": "png", "study_uid": None}}
    failed = {"path": "y.dcm", "error": "y.dcm: truncated file", "metadata": None}
    parsed = parse_analysis([png, _image("1.1", "routine", 0.2), failed], "a.json")
    assert [i.record.study_uid for i in parsed.intakes] == ["1.1"]
    assert parsed.skipped == (
        "a.json: image [0]: metadata.study_uid: missing (a PNG or JPEG carries no study); left out",
        "a.json: image [2]: metadata.study_uid: missing (the file was not read); left out",
    )
    with pytest.raises(StudyError, match=r"image \[0\].*no study\); add the DICOM instead$"):
        parse_analysis([png], "a.json")


def test_urgency_scored_by_the_imaging_rule_when_missing() -> None:
    image = _image("1.3", "urgent", 0.9, True)
    del image["urgency"]
    (intake,) = parse_analysis([image], "a.json").intakes
    assert intake.urgency is not None and intake.urgency.tier == "urgent"
    assert intake.urgency.reasons[0] == "critical finding Pneumothorax positive (p=0.90)"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"a": 1} | {"metadata": None}, r"a\.json: image \[0\]: metadata\.study_uid: missing"),
        ([1], r"image \[0\]: not a JSON object"),
        ("text", "not an analysis"),
        ([], "no images"),
        (
            [{**_image("1.1", "urgent", 0.5), "urgency": {"tier": "urgent", "score": "high"}}],
            r"image \[0\]: urgency\.score: input should be a valid number",
        ),
    ],
)
def test_bad_analysis_is_one_line(raw: Any, message: str) -> None:
    with pytest.raises(StudyError, match=message) as err:
        parse_analysis(raw, "a.json")
    assert "\n" not in str(err.value) and "P1" not in str(err.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "metadata",
                    "study_uid",
                    "findings",
                    "urgency",
                    "tier",
                    "score",
                    "name",
                    "probability",
                    "positive",
                    "reasons",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_analysis_parser_never_crashes(raw: Any) -> None:
    json.dumps(raw)
    try:
        parsed = parse_analysis(raw, "a.json")
    except StudyError as exc:
        assert "\n" not in str(exc)
    else:
        assert parsed.intakes and all(i.record.study_uid for i in parsed.intakes)
        assert all("\n" not in line for line in parsed.skipped)


def test_study_case_from_a_stored_study() -> None:
    from datetime import UTC, datetime

    from radpilot.workflow.studies import Study, StudyStatus, StudyUrgency

    s = Study(
        "1.9",
        "2026-12-02T08:00:00+00:00",
        "2026-12-02T08:00:00+00:00",
        StudyStatus.ANALYSED,
        analysis=(_image("1.9", "urgent", 0.9, True),),
        urgency=StudyUrgency("urgent", 0.9),
    )
    case = study_case(s, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert case.arrived == -60.0 and case.positives == {"Pneumothorax": 0.9}

"""QA surface gaps of issue 11 (qa2 round): each case failed before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from radpilot.workflow.qa import check

CliRun = Callable[..., tuple[int, str, str]]

RIGHT_RIB = "FINDINGS: Nondisplaced fracture of the right 5th rib.\nIMPRESSION: Right rib fracture."


def kinds(text: str, **kw: Any) -> list[str]:
    return [p.kind.value for p in check(text, **kw)]


# -- 1. the report's own EXAMINATION line ------------------------------------------------


@pytest.mark.parametrize("exam", [None, "LEFT RIBS 2 VIEWS"])
def test_the_examination_line_does_not_switch_the_exam_side_check_off(exam: str | None) -> None:
    text = "EXAMINATION: LEFT RIBS 2 VIEWS\n" + RIGHT_RIB
    (p,) = check(text, exam=exam)
    assert p.kind.value == "laterality_conflict"
    assert [e.text for e in p.evidence] == ["right", "Right"]


def test_the_examination_line_agrees_or_names_no_side() -> None:
    assert kinds("EXAMINATION: RIGHT RIBS 2 VIEWS\n" + RIGHT_RIB) == []
    assert kinds("EXAMINATION: CHEST 2 VIEWS\n" + RIGHT_RIB) == []
    both = "FINDINGS: Left ribs intact. Right 5th rib fracture.\nIMPRESSION: Right rib fracture."
    assert kinds("EXAMINATION: LEFT RIBS\n" + both) == []  # the examined side is named


def test_an_explicit_exam_wins_over_the_examination_line() -> None:
    text = "EXAMINATION: RIGHT RIBS\n" + RIGHT_RIB
    assert kinds(text, exam="LEFT RIBS") == ["laterality_conflict"]


# -- 2. an image cross-check that cannot run -----------------------------------------------


def _analysis(tmp_path: Path, value: Any) -> str:
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def _image(**over: Any) -> dict[str, Any]:
    image: dict[str, Any] = {
        "findings": [
            {"name": "Pneumothorax", "probability": 0.9, "positive": True, "threshold": 0.5}
        ],
        "error": None,
    }
    image.update(over)
    return image


@pytest.mark.parametrize(
    "value",
    [
        [],
        [_image(findings=[], error="cannot read")],
        [_image(flags=[{"code": "quality", "blocking": True}])],
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_qa_says_when_no_image_was_analysed(
    cli: CliRun, tmp_path: Path, value: Any, as_json: bool
) -> None:
    report = tmp_path / "r.txt"
    report.write_text("FINDINGS: Lungs clear.\nIMPRESSION: Normal chest.", encoding="utf-8")
    argv = ["qa", str(report), "--image-findings", _analysis(tmp_path, value)]
    code, out, err = cli(*argv, *(["--json"] if as_json else []))
    assert code == 2, out
    assert "no problems found" not in out and out == ""
    assert "image cross-check" in err and err.count("\n") == 1 and "Traceback" not in err


def test_qa_checks_the_analysed_image_and_ignores_the_gated_one(
    cli: CliRun, tmp_path: Path
) -> None:
    report = tmp_path / "r.txt"
    report.write_text("FINDINGS: Lungs clear.\nIMPRESSION: Normal chest.", encoding="utf-8")
    value = [_image(), _image(findings=[], error="cannot read")]
    code, out, _err = cli("qa", str(report), "--image-findings", _analysis(tmp_path, value))
    assert code == 3 and "possible_miss" in out


# -- 5. half-typed commands and missing output folders ------------------------------------


@pytest.mark.parametrize(
    "argv", [["--db", "x.db"], ["--json"], ["--all"], ["--as-of", "2024-01-01"]]
)
def test_followups_options_without_overdue_say_what_is_missing(
    cli: CliRun, argv: list[str]
) -> None:
    code, out, err = cli("followups", *argv)
    assert code == 2, out
    assert "without --overdue" in err and err.count("\n") == 1


def test_followups_alone_still_prints_its_help(cli: CliRun) -> None:
    code, out, _err = cli("followups")
    assert code == 0 and "overdue" in out


def test_followups_extract_into_a_missing_folder_is_an_error(cli: CliRun, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    src.write_text("id,text\n1,Recommend chest CT in 3 months.\n", encoding="utf-8")
    out_path = tmp_path / "missing" / "out.jsonl"
    code, _out, err = cli("followups", "extract", str(src), "-o", str(out_path))
    assert code == 2 and err.count("\n") == 1 and not out_path.parent.exists()


# -- 4. device positions in drafts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "kept"),
    [
        ("ET tube 4 cm above the carina", "4 cm above the carina"),
        ("PICC line with tip in the SVC", "with tip in the SVC"),
        ("Right IJ central venous catheter with tip at the cavoatrial junction", "cavoatrial"),
        ("The tip of the ET tube is 2.5 cm above the carina", "2.5 cm above the carina"),
    ],
)
def test_a_draft_keeps_a_device_position_and_is_verified(phrase: str, kept: str) -> None:
    from radpilot.workflow.draft import draft_report

    d = draft_report([phrase])
    impression = d.report.split("IMPRESSION:", 1)[1]
    assert kept in impression and d.verified, d.differences


@pytest.mark.parametrize(
    ("phrase", "lost"),
    [
        ("ET tube 4 cm above the carina", "4 cm above the carina"),
        ("ET tube 4 cm above the carina", "4 cm"),  # the site is kept, the distance not
        ("PICC line with tip in the SVC", "with tip in the SVC"),
    ],
)
def test_a_draft_that_loses_a_device_position_is_not_verified(phrase: str, lost: str) -> None:
    from radpilot.workflow import verify
    from radpilot.workflow.draft import draft_report

    d = draft_report([phrase])
    worse = d.report.replace(f" {lost}", "")
    assert worse != d.report
    (diff,) = verify.differences(worse, d.statements)
    assert diff.kind.value == "position"


def test_a_device_without_a_position_or_sharing_one_is_drafted_as_before() -> None:
    from radpilot.workflow.draft import draft_report

    d = draft_report(["endotracheal tube", "ET tube and NG tube in place"])
    assert d.verified and "Endotracheal tube." in d.report
    # the site is named before the device: "noted" after it is no position
    d = draft_report(["left shoulder bone anchor noted"])
    assert d.verified and "noted" not in d.report
    assert all(s.position is None for s in d.statements)


def test_an_unchanged_device_keeps_its_position() -> None:
    from radpilot.workflow.draft import draft_report

    prior = "FINDINGS: Endotracheal tube in place.\nIMPRESSION: Endotracheal tube."
    d = draft_report(["ET tube 4 cm above the carina"], prior=prior)
    assert "Unchanged" in d.report and "4 cm above the carina" in d.report and d.verified


# -- 3. exam-inconsistent statements -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "exam", "evidence"),
    [
        (
            "FINDINGS: Small left pleural effusion.\nIMPRESSION: No acute process.",
            "CT HEAD",
            ["pleural effusion"],
        ),
        (
            "EXAMINATION: CT HEAD WO CONTRAST\nFINDINGS: Large right pneumothorax, discussed with "
            "Dr. A at 10:00.\nIMPRESSION: Right pneumothorax.",
            None,
            ["pneumothorax", "pneumothorax"],
        ),
        (
            "FINDINGS: Cardiomegaly.\nIMPRESSION: Cardiomegaly.",
            "RIGHT KNEE 3 VIEWS",
            ["Cardiomegaly", "Cardiomegaly"],
        ),
        (
            "FINDINGS: The lateral view shows no effusion.\nIMPRESSION: Normal.",
            "CHEST 1 VIEW",
            ["lateral view"],
        ),
        (
            "EXAMINATION: PORTABLE CHEST\nFINDINGS: Opacity on the lateral projection.\n"
            "IMPRESSION: Normal.",
            None,
            ["lateral projection"],
        ),
    ],
)
def test_exam_inconsistent(text: str, exam: str | None, evidence: list[str]) -> None:
    found = [p for p in check(text, exam=exam) if p.kind.value == "exam_inconsistent"]
    assert [e.text for p in found for e in p.evidence] == evidence


@pytest.mark.parametrize(
    ("text", "exam"),
    [
        # a joint's effusion is no pleural one; the chest exam images the chest
        ("FINDINGS: Small joint effusion.\nIMPRESSION: Knee effusion.", "RIGHT KNEE"),
        ("FINDINGS: Small left pleural effusion.\nIMPRESSION: Left effusion.", "CHEST 2 VIEWS"),
        # CT of the abdomen sees the lung bases; a shoulder film the apex
        ("FINDINGS: Bibasilar atelectasis.\nIMPRESSION: Atelectasis.", "CT ABDOMEN PELVIS"),
        (
            "FINDINGS: Small apical pneumothorax.\nIMPRESSION: Pneumothorax, called to Dr. A.",
            "LEFT SHOULDER",
        ),
        # hedged, negated, or an exam of both regions
        ("FINDINGS: No pleural effusion. Possible pneumonia.\nIMPRESSION: Normal.", "CT HEAD"),
        ("FINDINGS: Cardiomegaly.\nIMPRESSION: Cardiomegaly.", "CT HEAD AND CHEST"),
        # an exam the data does not know; a one-view exam whose report says the view is missing
        ("FINDINGS: Cardiomegaly.\nIMPRESSION: Cardiomegaly.", "OUTSIDE FILM"),
        ("FINDINGS: No lateral view was obtained.\nIMPRESSION: Normal.", "CHEST 1 VIEW"),
        # "lateral" of a place is no view; a neck CTA sees the lung apices
        (
            "FINDINGS: Opacity on the lateral aspect of the right lung.\nIMPRESSION: Opacity.",
            "PORTABLE CHEST",
        ),
        (
            "FINDINGS: Small apical pneumothorax.\nIMPRESSION: Pneumothorax, called to Dr. A.",
            "CTA HEAD AND NECK",
        ),
        ("FINDINGS: The lateral view shows no effusion.\nIMPRESSION: Normal.", "CHEST 2 VIEWS"),
    ],
)
def test_exam_consistent(text: str, exam: str) -> None:
    assert "exam_inconsistent" not in kinds(text, exam=exam)

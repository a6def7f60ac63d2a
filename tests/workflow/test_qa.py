"""Report QA (`radpilot.workflow.qa`) on hand-written reports: each kind of problem, with
the hard negatives a checker that cries wolf gets wrong, and the exact words it points at."""

from __future__ import annotations

import pytest

from radpilot.errors import InputError
from radpilot.reports.models import Laterality
from radpilot.workflow.qa import ImageFinding, Problem, check
from radpilot.workflow.qaimage import image_findings_from


def kinds(text: str, **kw: object) -> list[str]:
    return [p.kind.value for p in check(text, **kw)]  # type: ignore[arg-type]


def words(p: Problem) -> list[str]:
    return [e.text for e in p.evidence]


# (report, the kinds expected). Every case is a report a radiologist could sign.
CASES = [
    # laterality between FINDINGS and IMPRESSION
    (
        "FINDINGS: Small left pleural effusion.\nIMPRESSION: Small right pleural effusion.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Right lower lobe nodule.\nIMPRESSION: Left lower lobe nodule.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Patchy opacity in the left lower lobe.\nIMPRESSION: Right lower lobe pneumonia.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Patchy opacity is present in the right lower lobe.\n"
        "IMPRESSION: Left lower lobe opacity.",
        ["laterality_conflict"],
    ),
    ("FINDINGS: No left effusion; small right effusion.\nIMPRESSION: Small right effusion.", []),
    (
        "FINDINGS: Bilateral effusions, left greater than right.\n"
        "IMPRESSION: Bilateral pleural effusions, left greater than right.",
        [],
    ),
    ("FINDINGS: Effusions, left greater than right.\nIMPRESSION: Left pleural effusion.", []),
    (
        "FINDINGS: Left basilar atelectasis. Right lower lobe consolidation.\n"
        "IMPRESSION: Right lower lobe pneumonia.",
        [],
    ),
    (
        "FINDINGS: Small left effusion.\nIMPRESSION: Possible small right effusion.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Clearing of the left base airspace disease.\n"
        "IMPRESSION: Clearing of right base airspace disease.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: No left effusion. Possible small right effusion.\n"
        "IMPRESSION: Possible small right effusion.",
        [],
    ),
    # missing from the impression
    (
        "FINDINGS: Small left pleural effusion. Heart size normal.\n"
        "IMPRESSION: No acute cardiopulmonary abnormality.",
        ["missing_from_impression"],
    ),
    (
        "FINDINGS: 2 cm nodule in the right upper lobe.\nIMPRESSION: No acute disease.",
        ["missing_from_impression"],
    ),
    ("FINDINGS: Right lower lobe consolidation.\nIMPRESSION: Right lower lobe pneumonia.", []),
    (
        "FINDINGS: Calcified right upper lobe nodule, granulomatous disease.\n"
        "IMPRESSION: No acute disease.",
        [],
    ),
    ("FINDINGS: Mild cardiomegaly. Trace left effusion.\nIMPRESSION: No acute disease.", []),
    ("FINDINGS: Stable small left effusion.\nIMPRESSION: No acute disease.", []),
    ("Small left pleural effusion.", []),  # no sections: nothing to compare
    # critical result not communicated
    (
        "FINDINGS: Large right pneumothorax.\nIMPRESSION: Large right pneumothorax.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Free air under the diaphragm.\nIMPRESSION: Pneumoperitoneum.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: The endotracheal tube tip is in the right mainstem bronchus.\n"
        "IMPRESSION: Endotracheal tube in the right mainstem bronchus.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Large right pleural effusion.\nIMPRESSION: Large right pleural effusion.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Large right pneumothorax.\nIMPRESSION: Large right pneumothorax. "
        "Findings discussed with Dr. Smith at 10:30.",
        [],
    ),
    (
        "FINDINGS: Large right pneumothorax.\nIMPRESSION: Large right pneumothorax. "
        "Critical result notification documented through Primordial.",
        [],
    ),
    (
        "FINDINGS: Small right pneumothorax, stable.\nIMPRESSION: Stable small right pneumothorax.",
        [],
    ),
    (
        "FINDINGS: Endotracheal tube tip 4 cm above the carina.\n"
        "IMPRESSION: Endotracheal tube in satisfactory position.",
        [],
    ),
    ("FINDINGS: No pneumothorax.\nIMPRESSION: No acute disease.", []),
    ("FINDINGS: Small right effusion.\nIMPRESSION: Small right effusion.", []),
    (
        "FINDINGS: Possible tiny right apical pneumothorax.\n"
        "IMPRESSION: Possible tiny right apical pneumothorax.",
        [],
    ),
    # contradictions
    (
        "FINDINGS: No pneumothorax. Heart normal.\nIMPRESSION: Large left pneumothorax, "
        "called to Dr. X at 10:00.",
        ["internal_contradiction"],
    ),
    (
        "FINDINGS: The heart is normal in size.\nIMPRESSION: Cardiomegaly.",
        ["internal_contradiction"],
    ),
    ("FINDINGS: Healed right rib fracture.\nIMPRESSION: No fracture.", ["internal_contradiction"]),
    ("FINDINGS: No large effusion. Small left effusion.\nIMPRESSION: Small left effusion.", []),
    ("FINDINGS: No new opacity. Stable left basilar opacity.\nIMPRESSION: Stable.", []),
    ("FINDINGS: No right effusion. Small left effusion.\nIMPRESSION: Small left effusion.", []),
    (
        "FINDINGS: No airspace disease, effusion or cavitary nodule.\n"
        "IMPRESSION: 2 cm noncalcified right lower lobe nodule.",
        [],
    ),
    (
        "FINDINGS: Previous left effusion has resolved. Small right effusion.\n"
        "IMPRESSION: Small right effusion.",
        [],
    ),
    (
        "FINDINGS: No suspicious nodules. Calcified granuloma in the left base.\n"
        "IMPRESSION: No acute disease.",
        [],
    ),
    ("FINDINGS: Mild congestion without edema.\nIMPRESSION: Mild vascular congestion.", []),
    ("FINDINGS: Cardiomegaly. Mediastinal contours are normal.\nIMPRESSION: Cardiomegaly.", []),
    # both sides in FINDINGS: the sides are compared zone by zone (location_zones)
    (
        "FINDINGS: Airspace opacity in the left lower lobe. Focal opacity in the right upper "
        "lobe.\nIMPRESSION: 1. Left lower lobe pneumonia. 2. Left upper lobe opacity.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Left lower lobe opacities. Mild right apical opacities.\n"
        "IMPRESSION: Right basilar opacities. Right apical opacities.",
        ["laterality_conflict"],
    ),
    (
        "FINDINGS: Left lower lobe opacities. Mild right apical opacities.\n"
        "IMPRESSION: Left basilar opacities. Right apical opacities.",
        [],
    ),
    (
        "FINDINGS: Left basilar opacity. Right basilar opacity.\n"
        "IMPRESSION: Right basilar opacity.",
        [],
    ),
    # an infiltrate or airspace disease left out of the impression; named by a synonym
    (
        "FINDINGS: A patchy infiltrate has developed in the right middle lobe.\n"
        "IMPRESSION: No acute cardiopulmonary abnormality.",
        ["missing_from_impression"],
    ),
    (
        "FINDINGS: There is patchy right base airspace disease.\n"
        "IMPRESSION: Right lower lobe pneumonia.",
        [],
    ),
    (
        "FINDINGS: Small amount of left basilar airspace disease.\n"
        "IMPRESSION: Left basilar atelectasis and/or infiltrate.",
        [],
    ),
    (
        "FINDINGS: Bibasilar interstitial infiltrates are present.\n"
        "IMPRESSION: Congestive heart failure with basilar interstitial edema.",
        [],
    ),
    # reader slips fixed by the reader (were strict xfails below): a fracture "better seen
    # on" other films is still a present one (OpenI 1292); "within normal limits" after the
    # comma is the vascularity's, not the heart's (OpenI 3237)
    (
        "FINDINGS: Fracture of the distal right clavicle, better seen on the shoulder films.\n"
        "IMPRESSION: No acute cardiopulmonary process.",
        ["missing_from_impression"],
    ),
    (
        "FINDINGS: Heart size is enlarged, pulmonary vascularity within normal limits.\n"
        "IMPRESSION: Cardiomegaly without pulmonary edema.",
        [],
    ),
    # reader slips fixed by the reader's slips round 2 (were strict xfails below):
    # "limited for evaluation of pneumoperitoneum" says nothing of its presence (OpenI 3899,
    # read present since main's reader counts pneumoperitoneum under an abdomen header)
    (
        "FINDINGS: Chest. No pneumothorax. Abdomen. Nondilated loops of bowel. Supine "
        "examinations are limited for evaluation of pneumoperitoneum.\n"
        "IMPRESSION: No acute cardiopulmonary findings.",
        [],
    ),
    # "clear airspace disease" (a dropped "of") is no airspace disease (OpenI 2401)
    (
        "FINDINGS: Lungs are expanded and clear airspace disease.\n"
        "IMPRESSION: No acute cardiopulmonary abnormality.",
        [],
    ),
    # a finding the film does not show well need not be in the impression
    (
        "FINDINGS: The lungs are clear. A first rib fracture is not well demonstrated on "
        "this study.\nIMPRESSION: No acute cardiopulmonary process.",
        [],
    ),
    (
        "FINDINGS: The lungs are clear. Left rib fracture, not well seen on the frontal view.\n"
        "IMPRESSION: No acute cardiopulmonary process.",
        [],
    ),
    # a finding placed by another one (deep to, adjacent to) is named with it
    (
        "FINDINGS: Minimally displaced right 4th rib fracture. A small amount of pleural "
        "fluid lies deep to the fracture.\nIMPRESSION: Right 4th rib fracture.",
        [],
    ),
    (
        "FINDINGS: Right upper lobe mass. Small pleural effusion adjacent to the mass.\n"
        "IMPRESSION: Right upper lobe mass.",
        [],
    ),
    (
        "FINDINGS: Right 4th rib fracture. Small left pleural effusion.\n"
        "IMPRESSION: Right 4th rib fracture.",
        ["missing_from_impression"],
    ),
    (
        "FINDINGS: Right upper lobe mass. Small effusion adjacent to the left hemidiaphragm.\n"
        "IMPRESSION: Right upper lobe mass.",
        ["missing_from_impression"],
    ),
    # callus formation is a healing fracture
    (
        "FINDINGS: The lungs are clear. Several bilateral rib fractures with callus "
        "formation.\nIMPRESSION: Clear lungs.",
        [],
    ),
    # a critical finding the report calls known, residual or resolving elsewhere is no new
    # result; a known one on the other side does not make a new one known
    (
        "FINDINGS: Small amount of subdiaphragmatic free air.\n"
        "IMPRESSION: Small residual pneumoperitoneum, consistent with known perforation.",
        [],
    ),
    (
        "FINDINGS: Both lungs remain hyperexpanded.\n"
        "IMPRESSION: Almost completely resolved right apical pneumothorax.",
        [],
    ),
    (
        "FINDINGS: Small residual right apical pneumothorax. New large right basilar "
        "pneumothorax.\nIMPRESSION: New large right pneumothorax.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Small right apical pneumothorax.\n"
        "IMPRESSION: Known small right apical pneumothorax.",
        [],
    ),
    (
        "FINDINGS: Residual small left pneumothorax. New large right pneumothorax.\n"
        "IMPRESSION: New large right pneumothorax. Residual small left pneumothorax.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Interval improvement in aeration, large right pneumothorax.\n"
        "IMPRESSION: Large right pneumothorax.",
        ["critical_not_communicated"],
    ),
    (
        "FINDINGS: Consolidation in the right lower lobe with underlying effusion.\n"
        "IMPRESSION: Right pleural effusion.",
        ["missing_from_impression"],
    ),
    (
        "FINDINGS: No residual pneumothorax. Large right pneumothorax.\n"
        "IMPRESSION: Large right pneumothorax.",
        ["critical_not_communicated"],
    ),
    # a side the FINDINGS give the impression's own finding (whatever its certainty) is no
    # laterality conflict with another finding of its group
    (
        "FINDINGS: Interval removal of the right chest tube and right basilar atelectasis. "
        "Left basilar consolidation.\nIMPRESSION: Right basilar atelectasis.",
        [],
    ),
    (
        "FINDINGS: There has been interval removal of right chest tube with increased "
        "elevation of the right hemidiaphragm and right basilar atelectasis. Left basilar "
        "consolidation.\nIMPRESSION: Right basilar atelectasis.",
        [],
    ),
    (
        "FINDINGS: Left basilar consolidation. No right basilar atelectasis.\n"
        "IMPRESSION: Right basilar atelectasis.",
        ["internal_contradiction"],
    ),
    (
        "FINDINGS: Left basilar consolidation.\nIMPRESSION: Right basilar atelectasis.",
        ["laterality_conflict"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_kind_and_its_hard_negatives(text: str, expected: list[str]) -> None:
    assert sorted(kinds(text)) == sorted(expected)


# Dev-report slips of the report reader (radpilot.reports, owned elsewhere) that QA inherits,
# as the reports should be checked: strict xfail, so the day the reader reads them right
# these fail and move up into CASES.
READER_SLIPS: list[tuple[str, list[str]]] = []  # none open now


@pytest.mark.xfail(strict=True, reason="a slip of the report reader, not of QA")
@pytest.mark.parametrize(("text", "expected"), READER_SLIPS)
def test_reader_slips_qa_inherits(text: str, expected: list[str]) -> None:
    assert sorted(kinds(text)) == sorted(expected)


def test_a_finding_placed_by_a_missing_one_is_no_second_problem() -> None:
    text = (
        "FINDINGS: Minimally displaced right 4th rib fracture. A small amount of pleural "
        "fluid lies deep to the fracture.\nIMPRESSION: No acute cardiopulmonary process."
    )
    (problem,) = check(text)
    assert problem.kind.value == "missing_from_impression"
    assert problem.finding in ("fracture", "rib_fracture")
    assert not [e for e in problem.evidence if "fluid" in e.text]
    # placed by a finding the impression need not name: it stands on its own
    text = (
        "FINDINGS: Small left pleural effusion adjacent to a hiatal hernia.\n"
        "IMPRESSION: No acute cardiopulmonary process."
    )
    assert kinds(text) == ["missing_from_impression"]


def test_evidence_is_the_exact_words() -> None:
    text = "FINDINGS: Right lower lobe nodule.\nIMPRESSION: Left lower lobe nodule."
    (p,) = check(text)
    assert words(p) == ["Right", "Left"]
    for e in p.evidence:
        assert text[e.start : e.end] == e.text
    assert p.severity.value == "high" and p.finding == "nodule"
    assert "FINDINGS say right, IMPRESSION says left" in p.message


def test_a_critical_problem_points_at_each_mention() -> None:
    text = "FINDINGS: Large right pneumothorax.\nIMPRESSION: Large right pneumothorax."
    (p,) = check(text)
    assert words(p) == ["pneumothorax", "pneumothorax"]


def test_exam_laterality() -> None:
    text = "FINDINGS: Nondisplaced fracture of the right 5th rib.\nIMPRESSION: Right rib fracture."
    assert kinds(text, exam="LEFT RIBS 2 VIEWS") == ["laterality_conflict"]
    assert kinds(text, exam="RIGHT RIBS 2 VIEWS") == []
    assert kinds(text, exam="CHEST 2 VIEWS") == []
    both = "FINDINGS: Left ribs intact. Right 5th rib fracture.\nIMPRESSION: Right rib fracture."
    assert kinds(both, exam="LEFT RIBS") == []  # the examined side is named


def test_sex_specific_words() -> None:
    text = "INDICATION: History of prostate cancer.\nFINDINGS: Lungs clear."
    (p,) = check(text, sex="F")
    assert p.kind.value == "sex_inconsistent" and words(p) == ["prostate"]
    assert check(text, sex="M") == ()
    assert check(text) == ()
    family = "INDICATION: Mother had ovarian cancer.\nFINDINGS: Lungs clear."
    assert check(family, sex="M") == ()
    assert kinds("HISTORY: Status post hysterectomy.", sex="M") == ["sex_inconsistent"]
    with pytest.raises(ValueError):
        check(text, sex="X")


def _image(label: str, positive: bool, side: Laterality | None = None) -> ImageFinding:
    return ImageFinding(label, positive, 0.9 if positive else 0.05, 0.5, side)


def test_against_the_image_model() -> None:
    clean = "FINDINGS: Lungs clear. No effusion.\nIMPRESSION: No acute disease."
    (miss,) = check(clean, image=[_image("Pleural Effusion", True)])
    assert miss.kind.value == "possible_miss" and words(miss) == ["effusion"]
    assert "negates it" in miss.message
    (silent,) = check("FINDINGS: Lungs clear.", image=[_image("Pneumothorax", True)])
    assert silent.kind.value == "possible_miss" and silent.evidence == ()
    text = "FINDINGS: Small left effusion.\nIMPRESSION: Small left effusion."
    (over,) = check(text, image=[_image("Pleural Effusion", False)])
    assert over.kind.value == "possible_overcall" and words(over) == ["effusion", "effusion"]
    assert check(text, image=[_image("Pleural Effusion", True, Laterality.LEFT)]) == ()
    (side,) = check(text, image=[_image("Pleural Effusion", True, Laterality.RIGHT)])
    assert side.kind.value == "laterality_conflict" and words(side) == ["left", "left"]
    hedged = "IMPRESSION: Possible small left effusion."
    assert check(hedged, image=[_image("Pleural Effusion", False)]) == ()
    assert check(hedged, image=[_image("Pleural Effusion", True)]) == ()


def test_analysis_json_is_read_by_the_model_s_decisions() -> None:
    raw = [
        {
            "path": "a.dcm",
            "findings": [
                {
                    "name": "Effusion",
                    "probability": 0.3,
                    "threshold": 0.1,
                    "positive": True,
                    "box": {"x": 10, "y": 10, "width": 100, "height": 100},
                },
                {"name": "Pneumothorax", "probability": 0.2, "threshold": 0.5, "positive": False},
                {"name": "Made Up", "probability": 0.9, "threshold": 0.5, "positive": True},
            ],
            "metadata": {"view_position": "PA", "columns": 1024},
        },
        {"path": "b.png", "error": "unreadable", "findings": []},
    ]
    found = image_findings_from(raw, "analysis.json")
    assert [(f.label, f.positive, f.side) for f in found] == [
        ("Pleural Effusion", True, Laterality.RIGHT),  # the film's left half
        ("Pneumothorax", False, None),
    ]
    blocked = [{**raw[0], "flags": [{"code": "rotated", "blocking": True}]}]
    assert image_findings_from(blocked, "analysis.json") == ()


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (
            [
                {
                    "findings": [
                        {"name": "Effusion", "probability": 2, "threshold": 0.1, "positive": True}
                    ]
                }
            ],
            "image [0]",
        ),
        (
            [{"findings": [{"name": "Effusion", "threshold": 0.1, "positive": True}]}],
            "probability: missing",
        ),
        ([{"findings": "none"}], "findings"),
        ([3], "image [0]"),
    ],
)
def test_bad_analysis_json_is_one_line(raw: object, where: str) -> None:
    with pytest.raises(InputError) as exc:
        image_findings_from(raw, "analysis.json")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("analysis.json: ") and where in message


def test_not_a_string() -> None:
    with pytest.raises(InputError):
        check(b"FINDINGS: x")  # type: ignore[arg-type]


def test_reads_what_radpilot_analyze_writes() -> None:
    """analysis.json as ``ImageResult.to_dict`` writes it (the same code `radpilot analyze`
    runs), so the reader cannot drift from the writer."""
    import json

    from radpilot.imaging.model_api import ImageMeta
    from radpilot.imaging.results import Box, FindingResult, Flag, FlagCode, ImageResult

    meta = ImageMeta("a.dcm", "dicom", view_position="PA", extra={"rows": 800, "columns": 1000})
    found = (
        FindingResult("Effusion", 0.7, 0.1, True, Box(600, 500, 200, 150)),
        FindingResult("Pneumothorax", 0.01, 0.2, False),
    )
    ok = ImageResult("a.dcm", "m", findings=found, meta=meta)
    gated = ImageResult(
        "b.dcm",
        "m",
        findings=found,
        meta=meta,
        flags=(Flag(next(iter(FlagCode)), "rotated", True),),
    )
    raw = json.loads(json.dumps([ok.to_dict(), gated.to_dict()]))
    read = image_findings_from(raw, "analysis.json")
    assert [(f.label, f.positive, f.side) for f in read] == [
        ("Pleural Effusion", True, Laterality.LEFT),  # the film's right half
        ("Pneumothorax", False, None),
    ]


def test_a_long_run_on_report_is_checked_on_its_first_100000_characters() -> None:
    text = "FINDINGS: " + "No left pneumothorax. Small left pneumothorax. " * 2500
    problems = check(text)
    assert {p.kind.value for p in problems} == {
        "internal_contradiction",
        "critical_not_communicated",
    }
    assert max(e.end for p in problems for e in p.evidence) <= 100_000 < len(text)


def test_the_rules_file_is_strict() -> None:
    from radpilot.datafiles import parse
    from radpilot.errors import VocabularyError
    from radpilot.workflow.qarules import QA_RULES, QaRulesFile, checked, qa_rules

    assert qa_rules().significant  # the packaged file loads and its ids are known
    raw = QA_RULES.raw()
    with pytest.raises(VocabularyError, match=r"critical\[0\]\.severity: unknown key"):
        parse({**raw, "critical": [{**raw["critical"][0], "severity": "large"}]}, QaRulesFile, "r")
    with pytest.raises(VocabularyError, match="lower case"):
        parse({**raw, "communication_cues": ["Discussed with"]}, QaRulesFile, "r")
    typo = parse({**raw, "significant": ["pneumothorax", "pneumothoraks"]}, QaRulesFile, "r")
    with pytest.raises(VocabularyError, match=r"^r: unknown finding id\(s\): pneumothoraks$"):
        checked(typo, "r")


def test_a_malpositioned_tube_points_at_the_device_and_where_it_is() -> None:
    text = (
        "FINDINGS: The endotracheal tube tip is in the right mainstem bronchus.\n"
        "IMPRESSION: Endotracheal tube in the right mainstem bronchus."
    )
    (p,) = check(text)
    assert words(p) == ["endotracheal tube", "mainstem", "Endotracheal tube", "mainstem"]

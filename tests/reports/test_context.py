"""The ConText engine through read(): cue scopes, terminators, pseudo-cues, anchors and
the attributes every mention carries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.reports import read
from radpilot.reports.models import Certainty, Change, Laterality, Mention

P, A, U = Certainty.PRESENT, Certainty.ABSENT, Certainty.UNCERTAIN


def _certainties(text: str) -> dict[str, Certainty]:
    out: dict[str, Certainty] = {}
    for m in read(text).mentions:
        out.setdefault(m.finding, m.certainty)
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Small pleural effusion.", {"pleural_effusion": P}),
        ("No pleural effusion.", {"pleural_effusion": A}),
        (
            "No focal consolidation, pleural effusion, or pneumothorax.",
            {"consolidation": A, "pleural_effusion": A, "pneumothorax": A},
        ),
        ("Pneumothorax is not seen.", {"pneumothorax": A}),
        ("Effusion and pneumothorax are absent.", {"pleural_effusion": A, "pneumothorax": A}),
        ("Pneumonia cannot be excluded.", {"pneumonia": U}),
        ("Cannot rule out pneumonia.", {"pneumonia": U}),
        ("Possible left lower lobe pneumonia.", {"pneumonia": U}),
        ("Opacity may represent atelectasis.", {"lung_opacity": P, "atelectasis": U}),
        ("Bibasilar opacities, likely atelectasis.", {"lung_opacity": P, "atelectasis": U}),
        ("Atelectasis versus pneumonia.", {"atelectasis": U, "pneumonia": U}),
        ("Atelectasis or pneumonia.", {"atelectasis": U, "pneumonia": U}),
        ("No effusion or pneumothorax.", {"pleural_effusion": A, "pneumothorax": A}),
        ("No effusion, but there is atelectasis.", {"pleural_effusion": A, "atelectasis": P}),
        ("No pneumothorax; however, a small effusion.", {"pneumothorax": A, "pleural_effusion": P}),
        ("No change in the small effusion.", {"pleural_effusion": P}),
        ("No increase in the pneumothorax.", {"pneumothorax": P}),
        ("Not only cardiomegaly but also edema.", {"cardiomegaly": P, "edema": P}),
        ("The effusion has resolved.", {"pleural_effusion": A}),
        ("Resolution of the consolidation.", {"consolidation": A}),
        ("Opacity, ? pneumonia.", {"lung_opacity": P, "pneumonia": U}),
        ("No consolidation to suggest pneumonia.", {"consolidation": A, "pneumonia": A}),
        ("Pneumothorax: none.", {"pneumothorax": A}),
    ],
)
def test_cue_scopes(text: str, expected: dict[str, Certainty]) -> None:
    got = _certainties(text)
    assert {k: got.get(k) for k in expected} == expected, read(text).mentions


@pytest.mark.parametrize(
    ("text", "finding", "certainty"),
    [
        ("The heart is enlarged.", "cardiomegaly", P),
        ("Heart size is normal.", "cardiomegaly", A),
        ("Normal heart size.", "cardiomegaly", A),
        ("The heart is not enlarged.", "cardiomegaly", A),
        ("Heart size is borderline.", "cardiomegaly", U),
        ("Heart size is stable.", "cardiomegaly", U),
        ("The mediastinum is widened.", "enlarged_cardiomediastinum", P),
        ("Normal cardiac and mediastinal contours.", "enlarged_cardiomediastinum", A),
        ("The lungs are hyperexpanded.", "hyperinflation", P),
        ("Elevated right hemidiaphragm.", "elevated_hemidiaphragm", P),
        ("Aorta is tortuous and calcified.", "tortuous_aorta", P),
        ("Aorta is tortuous and calcified.", "aortic_calcification", P),
        ("Blunting of the right costophrenic angle.", "costophrenic_blunting", P),
    ],
)
def test_anchored_findings(text: str, finding: str, certainty: Certainty) -> None:
    mentions = [m for m in read(text).mentions if m.finding == finding]
    assert mentions and mentions[0].certainty is certainty, read(text).mentions


def test_anchors_without_a_qualifier_name_nothing() -> None:
    assert read("The heart and lungs were imaged.").mentions == ()


def _one(text: str, finding: str) -> Mention:
    found = [m for m in read(text).mentions if m.finding == finding]
    assert found, read(text).mentions
    return found[0]


def test_attributes_and_evidence() -> None:
    text = "FINDINGS: New 4.5 cm mass in the right upper lobe."
    m = _one(text, "mass")
    assert m.certainty is P and m.change is Change.NEW
    assert m.laterality is Laterality.RIGHT and m.locations == ("right upper lobe",)
    assert m.size is not None and m.size.mm == 45.0 and m.size.unit == "cm"
    assert text[m.size.span.start : m.size.span.end] == "4.5 cm"
    assert text[m.span.start : m.span.end] == m.span.text == "mass"
    assert m.sentence.text == "New 4.5 cm mass in the right upper lobe."
    assert m.section == "findings" and "new" in m.cues


@pytest.mark.parametrize(
    ("text", "finding", "field", "value"),
    [
        ("Small left pleural effusion.", "pleural_effusion", "severity", "small"),
        ("Moderate cardiomegaly.", "cardiomegaly", "severity", "moderate"),
        ("Bibasilar atelectasis.", "atelectasis", "laterality", Laterality.BILATERAL),
        ("Bibasilar atelectasis.", "atelectasis", "locations", ("basilar",)),
        ("Right apical pleural thickening.", "pleural_thickening", "locations", ("apical",)),
        ("Retrocardiac opacity.", "lung_opacity", "locations", ("retrocardiac",)),
        # the place a finding's own words write is the longest: the valve, not the aorta
        ("Calcified aortic valve.", "valve_calcification", "locations", ("heart valve",)),
        ("Calcification of the aortic knob.", "aortic_calcification", "locations", ("aorta",)),
        ("8 mm nodule.", "nodule", "size", 8.0),
        ("Nodule measuring 1.2 x 0.8 cm.", "nodule", "size", 12.0),
        ("ET tube tip 3 cm above the carina.", "endotracheal_tube", "size", None),
        ("Increasing effusion.", "pleural_effusion", "change", Change.WORSE),
        ("Improved edema.", "edema", "change", Change.BETTER),
        ("Stable cardiomegaly.", "cardiomegaly", "change", Change.STABLE),
        ("The effusion has resolved.", "pleural_effusion", "change", Change.RESOLVED),
        ("Old healed rib fracture.", "rib_fracture", "historical", True),
        ("History of pneumothorax.", "pneumothorax", "historical", True),
        ("Right lower lobe pneumonia.", "pneumonia", "historical", False),
        ("INDICATION: Rule out pneumonia.", "pneumonia", "hypothetical", True),
        ("FINDINGS: Pneumonia.", "pneumonia", "hypothetical", False),
        ("If symptoms persist, consider CT for nodule.", "nodule", "hypothetical", True),
        ("Recommend CT for further evaluation of this nodule.", "nodule", "hypothetical", False),
        ("Rule out pneumonia.", "pneumonia", "certainty", U),  # in the findings: an open question
        ("Interval clearing of the opacity.", "lung_opacity", "change", Change.RESOLVED),
        ("Heart size is mildly enlarged.", "cardiomegaly", "severity", "mild"),
        ("Left basilar atelectasis versus pneumonia.", "pneumonia", "laterality", Laterality.LEFT),
    ],
)
def test_mention_fields(text: str, finding: str, field: str, value: object) -> None:
    m = _one(text, finding)
    got = getattr(m, field)
    if field == "size":
        got = got.mm if got is not None else None
    assert got == value


def test_cues_that_decided_are_recorded() -> None:
    assert _one("No evidence of pneumothorax.", "pneumothorax").cues == ("no evidence of",)
    assert "cannot be excluded" in _one("Pneumonia cannot be excluded.", "pneumonia").cues


def test_redaction_tokens_name_nothing() -> None:
    report = read("XXXX XXXX XXXX. The XXXX are clear. Dr. XXXX.")
    assert report.mentions == ()
    assert len(report.sentences) == 3


# Template answers ("Pneumothorax: no."): the answer negates the item right before it and
# nothing else, whatever the items, their order, separators and the other answers.
_ITEMS = ("pneumothorax", "pleural effusion", "cardiomegaly", "consolidation", "pulmonary edema")
_ANSWERS = ("no", "No", "small", "mild", "present", "moderate")


@settings(max_examples=80, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(_ITEMS), st.sampled_from(_ANSWERS), st.sampled_from((":", " -"))),
        min_size=1,
        max_size=4,
        unique_by=lambda p: p[0],
    ),
    joiner=st.sampled_from((", ", "; ", ". ")),
)
def test_a_template_answer_negates_its_own_item_only(
    picks: list[tuple[str, str, str]], joiner: str
) -> None:
    text = joiner.join(f"{item}{sep} {answer}" for item, answer, sep in picks) + "."
    text = text[0].upper() + text[1:]
    by_finding = {m.span.text.lower(): m.certainty for m in read(text).mentions}
    for item, answer, _sep in picks:
        want = Certainty.ABSENT if answer.lower() == "no" else Certainty.PRESENT
        assert by_finding.get(item) is want, text

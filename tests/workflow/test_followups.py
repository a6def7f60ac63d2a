"""Follow-up extraction: one case table per field, hard negatives, and properties (no
crash, spans inside the text) on any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.workflow.followups import extract
from radpilot.workflow.intervals import iter_intervals, parse_interval

IS_RECOMMENDATION = [
    ("Recommend chest CT in 3 months.", True),
    ("CT of the chest is recommended for further evaluation.", True),
    ("Repositioning recommended.", True),
    ("CT scan with IV contrast may be helpful.", True),
    ("If there is concern for fracture consider rib series.", True),
    ("Correlate clinically.", True),
    ("Please correlate clinically for pneumonia.", True),
    ("Follow-up radiograph in 2 weeks.", True),
    ("Followup imaging in 6 months is suggested.", True),
    ("2 cm nodule would benefit from a XXXX.", True),
    # hedges, statements, declined follow-up, invitations: none is a recommendation
    ("There is no focal airspace opacity to suggest pneumonia.", False),
    ("Hyperexpanded lungs suggesting emphysema.", False),
    ("This could represent atelectasis or pneumonia.", False),
    ("Findings suggestive of chronic lung disease.", False),
    ("Consider pneumonia in the appropriate clinical setting.", False),
    ("No follow-up imaging is needed.", False),
    ("Per Fleischner criteria, no routine follow-up is required.", False),
    ("Stable compared to prior examination.", False),
    ("No comparison studies are available.", False),
    ("Follow-up chest radiograph demonstrates resolution of the consolidation.", False),
    ("If there are any questions about this examination please call.", False),
    ("If one would like to discuss this case further, please XXXX.", False),
    ("Please see CT of the lumbar spine for further details.", False),
    ("No discrete correlate is seen on lateral view.", False),
    ("Some atelectasis suggested on lateral view.", False),
]


@pytest.mark.parametrize(("text", "expected"), IS_RECOMMENDATION)
def test_what_is_a_recommendation(text: str, expected: bool) -> None:
    assert bool(extract(text).recommendations) is expected, text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Recommend CT thorax with contrast to further assess.", "imaging"),
        ("Recommend further evaluation with XXXX.", "imaging"),
        ("Recommend comparison with outside films if available.", "comparison"),
        ("Comparison films, if available, would be useful.", "comparison"),
        ("Recommend correlation with side of point tenderness.", "clinical"),
        ("Correlate with physical examination findings.", "clinical"),
        ("Recommend bronchoscopy for tissue sampling.", "clinical"),
        ("Recommend followup after treatment to ensure resolution.", "imaging"),
    ],
)
def test_kind(text: str, kind: str) -> None:
    (rec,) = extract(text).recommendations
    assert rec.kind == kind


@pytest.mark.parametrize(
    ("text", "modality"),
    [
        ("Recommend chest CT.", "CT"),
        ("Recommend followup radiographs to ensure resolution.", "radiograph"),
        ("Verification with abdominal decubitus views is recommended.", "radiograph"),
        ("Consider dedicated shoulder x-XXXX.", "radiograph"),
        ("Recommend MRI of the thoracic spine.", "MRI"),
        ("Recommend PET/CT for the mass.", "PET"),
        ("Recommend right upper quadrant ultrasound.", "ultrasound"),
        ("Recommend esophagram to evaluate for a leak.", "fluoroscopy"),
        ("Recommend bone scan.", "nuclear"),
        ("Recommend XXXX to further evaluate.", "unspecified"),
        ("Correlate clinically.", "unspecified"),  # clinical: never a modality
    ],
)
def test_modality(text: str, modality: str) -> None:
    (rec,) = extract(text).recommendations
    assert rec.modality == modality


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("in 3 months", (90, 90)),
        ("at 6-12 months", (180, 360)),
        ("in 6 to 12 months", (180, 360)),
        ("in two to three weeks", (14, 21)),
        ("within 10 days", (10, 10)),
        ("in one year", (365, 365)),
        ("annual CT", (365, 365)),
        ("short-term follow-up", (None, 90)),
        ("to resolution", (None, None)),
        ("short-term XXXX in 3 to 4 months", (90, 120)),  # the number wins over the name
    ],
)
def test_interval_grammar(text: str, days: tuple[int | None, int | None]) -> None:
    iv = parse_interval(text)
    assert iv is not None and (iv.min_days, iv.max_days) == days
    assert text[iv.start : iv.end] == iv.text


@pytest.mark.parametrize(
    "text",
    [
        "45-year-old man",
        "a 2 years ago study",
        "measuring 7 mm",
        "6-3 months",
        "and",
        "PA and lateral",
    ],
)
def test_not_intervals(text: str) -> None:
    assert parse_interval(text) is None


@pytest.mark.parametrize(
    ("text", "conditional"),
    [
        ("If symptoms persist, recommend repeat chest radiograph.", True),
        ("Recommend CT unless already performed.", True),
        ("Comparison with prior CT is recommended if available.", True),
        ("Recommend CT in 3 months.", False),
    ],
)
def test_conditional(text: str, conditional: bool) -> None:
    (rec,) = extract(text).recommendations
    assert rec.conditional is conditional


def test_finding_is_taken_from_the_sentence_or_the_one_before() -> None:
    r = extract(
        "FINDINGS: Right lower lobe pneumonia. IMPRESSION: Recommend follow up to resolution."
    )
    assert [x.finding for x in r.recommendations] == ["pneumonia"]
    assert extract("Recommend MRI of the thoracic spine.").recommendations[0].finding is None
    negated = extract("No pneumothorax. Recommend CT.").recommendations[0]
    assert negated.finding is None  # an absent finding is nothing to follow up


@pytest.mark.parametrize(
    ("text", "communication"),
    [
        ("Findings were discussed with Dr. Smith by telephone at 3 pm.", True),
        ("These results were called to the ordering physician.", True),
        ("Critical result notification documented through Primordial.", True),
        ("Dr. XXXX was notified at the time of interpretation.", True),
        ("If you would like to discuss these findings, please call.", False),
        ("As discussed above, the effusion is small.", False),
        ("No pneumothorax.", False),
    ],
)
def test_communication(text: str, communication: bool) -> None:
    assert bool(extract(text).communications) is communication


def test_spans_and_output_shape() -> None:
    text = "FINDINGS: 7 mm nodule. IMPRESSION: Recommend chest CT in 6-12 months. Discussed with Dr. A."
    out = extract(text).as_dict("R1")
    assert set(out) == {"id", "recommendations", "communications"}
    (rec,) = out["recommendations"]
    assert set(rec) == {"text", "span", "kind", "modality", "interval", "conditional", "finding"}
    assert text[rec["span"]["start"] : rec["span"]["end"]] == rec["text"]
    iv = rec["interval"]
    assert text[iv["span"]["start"] : iv["span"]["end"]] == iv["text"] == "6-12 months"
    (comm,) = out["communications"]
    assert text[comm["span"]["start"] : comm["span"]["end"]] == comm["text"]


WORDS = st.sampled_from(
    "recommend suggest CT MRI follow-up in 3 6-12 months weeks if no to discussed with "
    "correlate clinically nodule pneumonia . , ; XXXX x-ray please consider views".split()
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=40).map(" ".join)))
def test_any_text_gives_spans_inside_it(text: str) -> None:
    found = extract(text)
    for rec in found.recommendations:
        assert 0 <= rec.start <= rec.end <= len(text)
        assert text[rec.start : rec.end] == rec.text
        if rec.interval is not None:
            assert rec.start <= rec.interval.start <= rec.interval.end <= rec.end
            assert text[rec.interval.start : rec.interval.end] == rec.interval.text
    for c in found.communications:
        assert text[c.start : c.end] == c.text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_intervals_never_crash_and_stay_inside(text: str) -> None:
    for iv in iter_intervals(text):
        assert text[iv.start : iv.end] == iv.text
        assert iv.min_days is None or iv.max_days is None or iv.min_days <= iv.max_days


def test_the_cue_file_is_strict() -> None:
    from radpilot.datafiles import parse
    from radpilot.errors import VocabularyError
    from radpilot.workflow.followup_rules import FOLLOWUP_CUES, FollowupCueFile

    raw = FOLLOWUP_CUES.raw()
    raw["modalities"]["SPECT-MRI"] = ["spect mri"]
    with pytest.raises(VocabularyError, match=r"unknown modality 'SPECT-MRI'; valid: CT, "):
        parse(raw, FollowupCueFile, "followup_cues.json")
    raw = FOLLOWUP_CUES.raw()
    raw["triggers"]["strongest"] = ["must"]
    with pytest.raises(VocabularyError, match=r"triggers\.strongest: unknown key; allowed: "):
        parse(raw, FollowupCueFile, "followup_cues.json")

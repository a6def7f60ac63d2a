"""Properties of report QA on arbitrary text (hypothesis): it never crashes, every evidence
span is inside the text and quotes it, and the analysis.json parser either reads a value
or says why in one line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.reports.models import Laterality
from radpilot.workflow.qa import ImageFinding, check, report_text
from radpilot.workflow.qaimage import image_findings_from

WORDS = [
    "FINDINGS:",
    "IMPRESSION:",
    "INDICATION:",
    "\n",
    ".",
    ",",
    ";",
    "no",
    "not",
    "without",
    "left",
    "right",
    "bilateral",
    "large",
    "small",
    "new",
    "stable",
    "resolved",
    "possible",
    "pneumothorax",
    "effusion",
    "pleural",
    "nodule",
    "mass",
    "consolidation",
    "pneumonia",
    "opacity",
    "fracture",
    "rib",
    "heart",
    "is",
    "normal",
    "enlarged",
    "cardiomegaly",
    "free air",
    "endotracheal tube",
    "mainstem",
    "discussed with",
    "Dr.",
    "10:30",
    "called",
    "prostate",
    "hysterectomy",
    "lower lobe",
    "greater than",
    "XXXX",
    "1.",
    "2.",
]
reports = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
images = st.lists(
    st.builds(
        ImageFinding,
        st.sampled_from(["Pneumothorax", "Pleural Effusion", "Nodule", "Cardiomegaly"]),
        st.booleans(),
        st.floats(0, 1),
        st.floats(0, 1),
        st.sampled_from([None, *Laterality]),
    ),
    max_size=4,
)


def _spans_inside(text: str, **kw: object) -> None:
    for p in check(text, **kw):  # type: ignore[arg-type]
        assert p.message and "\n" not in p.message
        for e in p.evidence:
            assert 0 <= e.start < e.end <= len(text)
            assert text[e.start : e.end] == e.text


@settings(max_examples=150, deadline=None)
@given(reports, images, st.sampled_from([None, "M", "F"]), st.sampled_from([None, "LEFT RIBS"]))
def test_report_like_text(
    text: str, image: list[ImageFinding], sex: str | None, exam: str | None
) -> None:
    _spans_inside(text, image=image, sex=sex, exam=exam)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    _spans_inside(text, sex="F", exam=text[:20])


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_one_line(data: bytes) -> None:
    try:
        text = report_text(data, "r.txt")
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("r.txt: ")
        return
    _spans_inside(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "findings",
                    "name",
                    "probability",
                    "threshold",
                    "positive",
                    "box",
                    "metadata",
                    "error",
                    "flags",
                    "x",
                    "columns",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_analysis_parser_reads_or_says_why(raw: object) -> None:
    try:
        found = image_findings_from(raw, "a.json")
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("a.json: ")
        return
    assert all(isinstance(f, ImageFinding) for f in found)


_SIDE_WORDS = st.sampled_from(["left", "right"])
_ZONE_WORDS = st.sampled_from(["lower lobe", "upper lobe", "basilar", "apical", "midlung"])
_NOUNS = st.sampled_from(["opacity", "airspace disease", "nodule", "pleural effusion"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_SIDE_WORDS, _ZONE_WORDS, _NOUNS), min_size=1, max_size=4))
def test_an_impression_that_repeats_its_findings_has_no_side_conflict(
    items: list[tuple[str, str, str]],
) -> None:
    """Comparing sides zone by zone never turns agreement into a conflict: whatever sides,
    zones and findings FINDINGS name, an IMPRESSION saying the same raises none."""
    said = " ".join(f"{side.capitalize()} {zone} {noun}." for side, zone, noun in items)
    problems = check(f"FINDINGS: {said}\nIMPRESSION: {said}")
    assert "laterality_conflict" not in [p.kind.value for p in problems]

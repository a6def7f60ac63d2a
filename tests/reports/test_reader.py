"""read(): the public entry point, its input checks, and properties over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import radpilot.reports as reports
from radpilot.errors import InputError
from radpilot.reports import read
from radpilot.reports.labels import chexpert


def test_read_returns_a_structured_report() -> None:
    text = "FINDINGS: Small left pleural effusion.\nIMPRESSION: Effusion."
    report = read(text)
    assert report.text == text
    assert [s.name for s in report.sections] == ["findings", "impression"]
    assert [s.text for s in report.sentences] == ["Small left pleural effusion.", "Effusion."]
    assert [m.finding for m in report.mentions] == ["pleural_effusion", "pleural_effusion"]
    as_dict = report.to_dict()
    assert as_dict["mentions"][0]["certainty"] == "present"


@pytest.mark.parametrize("bad", [None, 42, b"No effusion.", ["No effusion."]])
def test_read_rejects_non_text(bad: object) -> None:
    with pytest.raises(InputError, match="report text must be a string"):
        read(bad)  # type: ignore[arg-type]


def test_import_has_no_side_effects() -> None:
    assert reports.__all__ == ["read", "read_targets"]


def test_non_ascii_text_keeps_offsets() -> None:
    # "İ" lower-cases to two characters; offsets must still index the original text.
    text = "İİİ Small effusion. Pneumothorax: none."
    report = read(text)
    for m in report.mentions:
        assert text[m.span.start : m.span.end] == m.span.text
    assert [m.finding for m in report.mentions] == ["pleural_effusion", "pneumothorax"]


_words = st.sampled_from(
    [
        "no",
        "not",
        "effusion",
        "pneumothorax",
        "heart",
        "enlarged",
        "normal",
        "may",
        "represent",
        "atelectasis",
        "or",
        "versus",
        "but",
        "resolved",
        "XXXX",
        "4.5",
        "cm",
        "left",
        "right",
        "FINDINGS:",
        "IMPRESSION:",
        "Dr.",
        "1.",
        ".",
        ",",
        "?",
        ";",
        "\n",
        "İ",
        "é",
        "😀",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, max_size=60).map(" ".join) | st.text(max_size=200))
def test_read_never_crashes_and_spans_index_the_text(text: str) -> None:
    report = read(text)
    for m in report.mentions:
        assert text[m.span.start : m.span.end] == m.span.text
        assert text[m.sentence.start : m.sentence.end] == m.sentence.text
        assert m.sentence.start <= m.span.start <= m.span.end <= m.sentence.end
        if m.size is not None:
            assert text[m.size.span.start : m.size.span.end] == m.size.span.text
    labels = chexpert(report)
    assert all(v in (1.0, 0.0, -1.0, None) for v in labels.values())


def test_a_run_on_sentence_is_read_in_windows() -> None:
    # 60,000 characters with no sentence end: read in bounded windows, nothing lost.
    text = "no effusion heart enlarged left " * 1900
    report = read(text)
    assert len(report.sentences) == 1
    effusions = [m for m in report.mentions if m.finding == "pleural_effusion"]
    assert len(effusions) == 1900
    assert all(text[m.span.start : m.span.end] == m.span.text for m in report.mentions)


# A device part ("with tip", "tip in the") is the device named before it in the sentence;
# alone it names the line (a redacted "Right IJ XXXX with tip in the SVC").
PART_PHRASES = [
    ("Pacemaker with tip in the right ventricle.", ["cardiac_device"]),
    ("Left chest wall pacer with leads, tip in the right atrium.", ["cardiac_device"]),
    ("Feeding tube with tip in the stomach.", ["enteric_tube"]),
    ("Right IJ XXXX with tip in the SVC.", ["central_line"]),
    ("Tip in the SVC.", ["central_line"]),
    ("Tip in the SVC. Pacemaker leads are intact.", ["central_line", "cardiac_device"]),
    ("Right IJ catheter with tip in the SVC.", ["central_line"]),
    # an enteric tube's side port is no port (a central line's)
    ("Enteric tube side port in the stomach.", ["enteric_tube"]),
    ("NG tube with the sideport below the GE junction.", ["enteric_tube"]),
    ("The side port projects over the distal esophagus.", ["enteric_tube"]),
    (
        "Endotracheal tube 4 cm above the carina. OG tube side port in the stomach.",
        ["endotracheal_tube", "enteric_tube"],
    ),
    ("Right chest port with its tip in the SVC.", ["central_line"]),
]


@pytest.mark.parametrize(("text", "findings"), PART_PHRASES)
def test_a_device_part_is_the_device_named_before_it(text: str, findings: list[str]) -> None:
    got = [m.finding for m in read(text).mentions]
    assert sorted(set(got)) == sorted(set(findings)), got


def test_refers_back_entries_must_be_synonyms() -> None:
    from radpilot.reports.vocabulary import FindingEntry

    base = {"id": "x_line", "name": "x line", "synonyms": ["x line", "with tip"]}
    base |= {"parent": None, "chexpert": None, "cxr14": None, "radlex": None}
    assert FindingEntry.model_validate({**base, "refers_back": ["with tip"]}).refers_back
    with pytest.raises(ValueError, match="refers_back"):
        FindingEntry.model_validate({**base, "refers_back": ["its tip"]})


def test_placed_names_other_findings_at_known_places() -> None:
    # findings.json "placed": every place is a location of modifiers.json, every finding
    # another of the vocabulary (the loader checks the latter; a bad one names the entry)
    from radpilot.errors import VocabularyError
    from radpilot.reports.rules import modifiers
    from radpilot.reports.vocabulary import load_vocabulary, vocabulary_from_dict

    places = set(modifiers().locations.values())
    placed = [(f.id, p, o) for f in load_vocabulary() for p, o in f.placed]
    assert placed and all(p in places for _, p, _ in placed), placed
    entry = {"id": "x_lesion", "name": "x lesion", "synonyms": ["x lesion"], "parent": None}
    entry |= {"chexpert": None, "cxr14": None, "radlex": None, "placed": {"rib": "y_lesion"}}
    with pytest.raises(VocabularyError, match=r"x_lesion.placed\['rib'\]: 'y_lesion'"):
        vocabulary_from_dict({"version": "1", "findings": [entry]})


@pytest.mark.parametrize(
    "text",
    [
        "FINDINGS: An opacity is seen on the lateral view.",
        "FINDINGS: Opacity projecting over the spine on the lateral radiograph.",
        "FINDINGS: Lateral view shows a small effusion.",
        "FINDINGS: Small effusion, seen only on the lateral projection.",
        "FINDINGS: Nodular opacity on the lateral images only.",
    ],
)
def test_a_view_of_the_image_places_nothing(text: str) -> None:
    # "lateral" names a place ("the lateral right lung base") but "the lateral view" is a
    # projection of the image (modifiers.json views): the finding is not placed laterally.
    (m,) = [m for m in read(text).mentions if m.certainty.value == "present"]
    assert "lateral" not in m.locations


def test_a_lateral_place_is_still_a_place() -> None:
    (m,) = read("FINDINGS: Opacity in the lateral right lung base.").mentions
    assert "lateral" in m.locations and "basilar" in m.locations

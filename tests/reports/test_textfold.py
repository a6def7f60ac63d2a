"""Compatibility characters (fullwidth letters, non-breaking spaces, curly quotes, dashes)
are read as their plain forms, and every span still points at the user's own text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.reports.reader import read
from radpilot.reports.rules import modifiers
from radpilot.reports.textfold import fold

FULLWIDTH_NO = "\uff2e\uff4f"  # "Ｎｏ"
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("text", "finding", "certainty"),
    [
        (f"{FULLWIDTH_NO} pneumothorax.", "pneumothorax", "absent"),
        (f"No{NBSP}pneumothorax.", "pneumothorax", "absent"),
        (f"Small left pleural{NBSP}effusion.", "pleural_effusion", "present"),
        (
            "\uff30\uff4e\uff45\uff55\uff4d\uff4f\uff54\uff48\uff4f\uff52\uff41\uff58.",
            "pneumothorax",
            "present",
        ),
        ("Findings are \u201cconsistent with\u201d pneumonia.", "pneumonia", "present"),
        ("Lungs clear \u2013 no effusion.", "pleural_effusion", "absent"),
        ("No pneumothorax\u3002", "pneumothorax", "absent"),
    ],
)
def test_compatibility_characters_are_read(text: str, finding: str, certainty: str) -> None:
    report = read(text)
    hits = [m for m in report.mentions if m.finding == finding]
    assert hits, f"{text!r}: no {finding}"
    m = hits[0]
    assert m.certainty.value == certainty
    assert m.span.text == text[m.span.start : m.span.end]  # the user's characters
    assert m.sentence.text == text[m.sentence.start : m.sentence.end]
    assert report.text == text


def test_fold_keeps_length_and_leaves_longer_forms() -> None:
    text = "\ufb01brosis pneu\u00admothorax \uff2eo"  # a ligature and a soft hyphen stay
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "\ufb01brosis pneu\u00admothorax No"
    assert fold("plain ascii") == "plain ascii"


_ODD = st.sampled_from(
    [
        "\u00a0",
        "\u2009",
        "\uff2e",
        "\uff4f",
        "\u2019",
        "\u201c",
        "\u2013",
        "\u00ad",
        "\ufb01",
        "\u00e9",
    ]
)
_WORDS = st.sampled_from(
    [
        "No",
        "no",
        "pneumothorax",
        "small",
        "left",
        "pleural",
        "effusion",
        "is",
        "seen",
        ".",
        "Heart",
        "enlarged",
        "FINDINGS:",
        "IMPRESSION:",
        "5",
        "cm",
        "nodule",
        "possible",
        ",",
    ]
)
_PIECES = st.lists(st.one_of(_WORDS, _ODD, st.just(" "), st.just("\n")), max_size=40)


@settings(max_examples=150, deadline=None)
@given(_PIECES)
def test_offsets_always_index_the_original_text(pieces: list[str]) -> None:
    text = " ".join(pieces)
    report = read(text)
    assert report.text == text
    for m in report.mentions:
        assert m.span.text == text[m.span.start : m.span.end]
        assert m.sentence.text == text[m.sentence.start : m.sentence.end]
        if m.size is not None:
            assert m.size.span.text == text[m.size.span.start : m.size.span.end]
    for s in report.sentences:
        assert s.text == text[s.start : s.end]
    for sec in report.sections:
        if sec.header:
            assert sec.header == text[sec.start : sec.start + len(sec.header)]
    # folding changes nothing but the characters: the same mentions as the folded text
    plain = read(fold(text))
    assert [(m.finding, m.certainty, m.span.start, m.span.end) for m in report.mentions] == [
        (m.finding, m.certainty, m.span.start, m.span.end) for m in plain.mentions
    ]


def test_the_character_table_is_data_and_checked() -> None:
    """modifiers.json's ``characters`` holds the marks NFKC keeps; an entry that is not one
    character for one would move every offset after it, so the loader refuses it."""
    from radpilot.errors import VocabularyError
    from radpilot.reports.rules import MODIFIERS, modifiers_from_dict

    assert fold("a \u2018b\u2019 \u2013 c", modifiers().characters) == "a 'b' - c"
    assert fold("x\u2019y", {}) == "x\u2019y"  # no table entry, and NFKC keeps it
    raw = MODIFIERS.raw()
    raw["characters"]["\u2026"] = "..."
    with pytest.raises(VocabularyError, match="characters"):
        modifiers_from_dict(raw)

"""Sections and sentences: headers as data, sentence ends that survive abbreviations,
decimals, numbered lists, wrapped lines and redaction tokens; spans always index the text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.reports import sections
from radpilot.reports.models import Sentence
from radpilot.reports.sections import split_sections, split_sentences


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("FINDINGS: Clear lungs.\nIMPRESSION: Normal.", ["findings", "impression"]),
        ("Clear lungs. No effusion.", ["body"]),
        ("", []),
        ("   \n ", []),
        (
            "EXAM: Chest PA.\nHISTORY: Cough.\nFINDINGS: Clear.",
            ["examination", "history", "findings"],
        ),
        (
            "Reason for exam: cough\nComparison: None.\nFindings: Clear.",
            ["indication", "comparison", "findings"],
        ),
        ("CONCLUSION: Normal.", ["impression"]),
        (
            "SUMMARY: x\nOPINION: y\nRECOMMENDATIONS: z\nADDENDUM: w",
            ["impression", "impression", "recommendation", "addendum"],
        ),
        ("TECHNIQUE: PA and lateral.\nCLINICAL HISTORY: fever", ["technique", "history"]),
        ("Preamble text.\nFINDINGS: Clear.", ["body", "findings"]),
        ("No change. IMPRESSION: Stable.", ["body", "impression"]),  # inline capitals
        ("The findings: clear lungs.", ["body"]),  # lower-case mid-line words are not headers
        ("FINDINGS\nClear lungs.", ["findings"]),  # a capital header alone on its line
        ("Findings\nClear lungs.", ["body"]),  # ... but not in lower case without a colon
        # no FINDINGS header: a context section is its first paragraph, the findings follow
        ("Clinical details: Fall.\nNo pneumothorax. Heart normal.", ["history", "findings"]),
        (
            "History: Shortness of breath.\nSmall effusions.\nImpression: Edema.",
            ["history", "findings", "impression"],
        ),
        ("Reason: ? pneumonia\n\nNo consolidation.", ["indication", "findings"]),
        ("HISTORY:\nCough.\nHeart normal.", ["history", "findings"]),
        ("Comparison: Earlier today.\nLeft chest tube placed.", ["comparison", "findings"]),
        ("INDICATION: Cough and\nfever.", ["indication"]),  # a wrapped line ends nothing
        # ... but a FINDINGS header after it says where the findings are
        ("INDICATION: cough.\nFever for 3 days.\nFINDINGS: Clear.", ["indication", "findings"]),
        ("Comment: No evidence of pneumonia.", ["impression"]),
    ],
)
def test_section_names(text: str, names: list[str]) -> None:
    assert [s.name for s in split_sections(text)] == names


def test_section_offsets_cover_the_text() -> None:
    text = "INDICATION: cough\nFINDINGS: Clear lungs.\nIMPRESSION: Normal."
    sections = split_sections(text)
    assert sections[0].start == 0 and sections[-1].end == len(text)
    for a, b in itertools.pairwise(sections):
        assert a.end == b.start
    assert [s.header for s in sections] == ["INDICATION", "FINDINGS", "IMPRESSION"]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Heart normal. Lungs clear.", ["Heart normal.", "Lungs clear."]),
        ("Dr. Smith was called. No effusion.", ["Dr. Smith was called.", "No effusion."]),
        ("A 4.5 cm mass. No effusion.", ["A 4.5 cm mass.", "No effusion."]),
        ("1. Cardiomegaly. 2. No effusion.", ["1. Cardiomegaly.", "2. No effusion."]),
        ("IMPRESSION:\n1. Pneumonia\n2. No effusion", ["1. Pneumonia", "2. No effusion"]),
        (
            "No focal consolidation, pleural\neffusion, or pneumothorax.",
            ["No focal consolidation, pleural\neffusion, or pneumothorax."],
        ),
        (
            "Midline sternotomy XXXX. Inferior XXXX XXXX XXXX.",
            ["Midline sternotomy XXXX.", "Inferior XXXX XXXX XXXX."],
        ),
        (
            "Dr. XXXX was notified at XXXX p.m. today.",
            ["Dr. XXXX was notified at XXXX p.m. today."],
        ),
        ("Opacity, ? pneumonia. Clear.", ["Opacity, ? pneumonia.", "Clear."]),
        ("Normal.. Clear.", ["Normal..", "Clear."]),
        ("Clear lungs\n\nNo effusion", ["Clear lungs", "No effusion"]),
        ("- clear lungs\n- no effusion", ["- clear lungs", "- no effusion"]),
        (
            "Clear lung XXXX.In the left lobe, a nodule.",
            ["Clear lung XXXX.", "In the left lobe, a nodule."],
        ),
        ("Seen by Dr.Smith today.", ["Seen by Dr.Smith today."]),
        ("...", []),
        ("", []),
    ],
)
def test_sentences(text: str, sentences: list[str]) -> None:
    assert [s.text for s in split_sentences(text)] == sentences


def test_sentences_carry_their_section() -> None:
    text = "INDICATION: Rule out pneumonia.\nFINDINGS: Clear. No effusion.\nIMPRESSION: Normal."
    got = [(s.section, s.text) for s in split_sentences(text)]
    assert got == [
        ("indication", "Rule out pneumonia."),
        ("findings", "Clear."),
        ("findings", "No effusion."),
        ("impression", "Normal."),
    ]


_report_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300
) | st.lists(
    st.sampled_from(
        [
            "FINDINGS:",
            "IMPRESSION:",
            "Dr.",
            "4.5 cm",
            "1.",
            "2.",
            "XXXX",
            "\n",
            "\n\n",
            ". ",
            "? ",
            "no",
            "effusion",
            " ",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(_report_text)
def test_spans_always_index_the_original_text(text: str) -> None:
    sections = split_sections(text)
    for s in sections:
        assert 0 <= s.start <= s.end <= len(text)
    for sent in split_sentences(text, sections):
        assert text[sent.start : sent.end] == sent.text
        assert sent.text.strip() == sent.text and sent.text
    starts = [s.start for s in split_sentences(text)]
    assert starts == sorted(starts)


def _fresh_sentences(text: str) -> tuple[Sentence, ...]:
    sections._bounds_memo.clear()
    try:
        return split_sentences(text)
    finally:
        sections._bounds_memo.clear()


_CONTENTS = [
    "Heart is normal. Dr. Smith saw a 4.5 cm mass.",
    "clear.In the left lung no effusion.\n\n1. Nodule.\n2. Mass? Pneumonia!",
    "Ab.Cd efg. ? pneumonia",
]
_PREFIXES = ["", "FINDINGS: ", "HISTORY: cough.\nFINDINGS:", "IMPRESSION\n", "Ab", "x."]


def test_a_repeated_section_gets_the_sentences_of_a_fresh_reading() -> None:
    texts = [p + c for c in _CONTENTS for p in _PREFIXES]
    texts += [f"FINDINGS: {c}\nIMPRESSION: {c}" for c in _CONTENTS]
    expected = [_fresh_sentences(t) for t in texts]
    sections._bounds_memo.clear()
    assert [split_sentences(t) for t in texts] == expected  # the memo fills as it goes
    assert len(sections._bounds_memo) < len(texts) * 2  # and was used
    assert [split_sentences(t) for t in reversed(texts)] == expected[::-1]


@settings(max_examples=150, deadline=None)
@given(_report_text, st.sampled_from(_PREFIXES), st.sampled_from(_PREFIXES))
def test_section_memo_never_changes_the_sentences(text: str, first: str, second: str) -> None:
    expected = _fresh_sentences(second + text)
    split_sentences(first + text)  # the same content read first at another offset
    assert split_sentences(second + text) == expected


def test_section_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sections, "_MAX_SECTIONS", 4)
    texts = [
        f"FINDINGS: Finding {i}. Dr. Smith saw it.\nIMPRESSION: Normal {i % 3}." for i in range(12)
    ]
    expected = [_fresh_sentences(t) for t in texts]
    got = [split_sentences(t) for t in texts + texts]
    assert got == expected + expected
    assert len(sections._bounds_memo) <= 4

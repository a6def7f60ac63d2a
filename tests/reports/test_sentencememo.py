"""The sentence memo: a repeated sentence gives the same mentions as reading it afresh."""

from __future__ import annotations

from dataclasses import fields

import pytest

from radpilot.reports import read, sentencememo
from radpilot.reports.matcher import lexicon
from radpilot.reports.models import (
    Certainty,
    Change,
    Hedge,
    Laterality,
    Measurement,
    Mention,
    Report,
    Span,
)

TEXTS = [
    "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: No pneumothorax.",
    "INDICATION: No pneumothorax. FINDINGS: No pneumothorax. A 2.5 cm nodule in the right lung.",
    "IMPRESSION: A 2.5 cm nodule in the right lung. Small left pleural effusion.",
    "No pneumothorax. A 2.5 cm nodule in the right lung. Heart is enlarged.",
    "FINDINGS: Heart is enlarged. Heart is enlarged. Opacity, may represent pneumonia.",
    "HISTORY: Heart is enlarged. IMPRESSION: Opacity, may represent pneumonia.",
    "COMPARISON: none.  Opacity, may represent pneumonia.",
    # the phrases found differ though the sentence text is the same ("no\n\nacute")
    "FINDINGS: Lungs are clear no\n\nacute effusion.",
    "FINDINGS: Lungs are clear. acute effusion.",
]


def _fresh(text: str) -> Report:
    lexicon().memo = None
    try:
        return read(text)
    finally:
        lexicon().memo = None


@pytest.mark.parametrize("order", [1, -1])
def test_memo_reads_like_a_fresh_reading(order: int) -> None:
    expected = [_fresh(t) for t in TEXTS[::order]]
    lexicon().memo = None
    got = [read(t) for t in TEXTS[::order]]
    got_again = [read(t) for t in TEXTS[::order]]  # every sentence now from the memo
    assert got == expected
    assert got_again == expected
    assert any(m.size is not None for r in got_again for m in r.mentions)
    for r in got_again:  # every span points at its own words
        for m in r.mentions:
            assert r.text[m.span.start : m.span.end] == m.span.text
            assert r.text[m.sentence.start : m.sentence.end] == m.sentence.text
            if m.size is not None:
                assert r.text[m.size.span.start : m.size.span.end] == m.size.span.text


# One value per Mention field, none a default: a field added to Mention without one here
# fails the first assertion, and one that _copy drops or fails to move fails the second.
_EVERY_FIELD: dict[str, object] = {
    "finding": "pleural_effusion",
    "certainty": Certainty.UNCERTAIN,
    "span": Span(3, 8, "effus"),
    "sentence": Span(0, 20, "a sentence of twenty"),
    "section": "findings",
    "laterality": Laterality.LEFT,
    "locations": ("base",),
    "severity": "small",
    "size": Measurement(2.5, "cm", 25.0, Span(10, 16, "2.5 cm")),
    "change": Change.NEW,
    "historical": True,
    "hypothetical": True,
    "cues": ("may",),
    "hedge": Hedge.POSSIBLE,
    "region": "lower limb",
}


def test_a_moved_mention_keeps_every_field_and_moves_every_offset() -> None:
    assert set(_EVERY_FIELD) == {f.name for f in fields(Mention)}
    m = Mention(**_EVERY_FIELD)  # type: ignore[arg-type]
    (moved,) = sentencememo.shifted([m], 100)
    assert moved.span == Span(103, 108, "effus")
    assert moved.sentence == Span(100, 120, "a sentence of twenty")
    assert moved.size == Measurement(2.5, "cm", 25.0, Span(110, 116, "2.5 cm"))
    offsets = {"span", "sentence", "size"}
    for name in set(_EVERY_FIELD) - offsets:
        assert getattr(moved, name) == getattr(m, name), name


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentencememo, "MAX_SENTENCES", 4)
    lexicon().memo = None
    try:
        for i in range(20):
            read(f"FINDINGS: No pneumothorax {i}. Small effusion {i}.")
        memo = sentencememo.memo_of(lexicon())
        assert 0 < len(memo.entries) <= 4
        assert read("FINDINGS: No pneumothorax 3.") == _fresh("FINDINGS: No pneumothorax 3.")
    finally:
        lexicon().memo = None


def _sentence_mentions(text: str, sentence: str) -> list[tuple[str, str, int, str]]:
    """The mentions of ``sentence`` in ``read(text)``, offsets from the sentence's start."""
    start = text.index(sentence)
    return [
        (m.finding, m.certainty.value, m.span.start - start, m.span.text)
        for m in _fresh(text).mentions
        if m.sentence.start == start
    ]


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        # a phrase of the words around a blank line ("pleural\n\neffusion") is no phrase of
        # either sentence: each is scanned within itself
        ("FINDINGS: No pleural\n\neffusion is seen on the left.", "effusion is seen on the left."),
        (
            "FINDINGS: Heart is normal. Pleural or pericardial effusion.",
            "Pleural or pericardial effusion.",
        ),
        ("FINDINGS: Knee. Joint effusion.", "Joint effusion."),
    ],
)
def test_a_sentence_reads_the_same_wherever_it_sits(text: str, sentence: str) -> None:
    alone = f"FINDINGS: {sentence}"
    got = _sentence_mentions(text, sentence)
    assert got and got == _sentence_mentions(alone, sentence)

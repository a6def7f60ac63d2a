"""The sentence memo: a repeated sentence gives the same mentions as reading it afresh."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from radpilot.reports import read, sentencememo
from radpilot.reports.matcher import lexicon
from radpilot.reports.models import Mention, Report

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


def test_only_span_fields_are_moved() -> None:
    # _moved shifts span, sentence and size: a new field that holds an offset must be
    # moved there too, or a repeated sentence would point at the wrong words.
    with_offsets = {
        f.name for f in fields(Mention) if re.search(r"\b(Span|Measurement|int)\b", str(f.type))
    }
    assert with_offsets == {"span", "sentence", "size"}


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

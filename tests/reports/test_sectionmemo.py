"""The section memo: a repeated section gives the same reading as reading it afresh."""

from __future__ import annotations

import pytest

from radpilot.reports import read, sectionmemo
from radpilot.reports.matcher import lexicon
from radpilot.reports.models import Report

TEXTS = [
    "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: No pneumothorax.",
    "IMPRESSION: No pneumothorax.",
    "INDICATION: cough.\nIMPRESSION: No pneumothorax.",
    "FINDINGS: A 2.5 cm nodule in the right lung.\nIMPRESSION: Small left pleural effusion.",
    "COMPARISON: none. FINDINGS: A 2.5 cm nodule in the right lung.",
    # a header without a colon: the same content, phrases that may run in from the header
    "FINDINGS\nno acute effusion.\nIMPRESSION: No pneumothorax.",
    "HISTORY: x\nFINDINGS\nno acute effusion.",
    # the content ends where a phrase of the next header's words may begin
    "FINDINGS: Heart is enlarged. No\nIMPRESSION: No pneumothorax.",
    "FINDINGS: Heart is enlarged. No\nFINDINGS: No pneumothorax.",
    # the same content and phrase starts; one phrase ends past the content ("soft tissue
    # findings" runs into the next header) in one and not in the other
    "FINDINGS: Mass in the soft tissue\nFINDINGS: No pneumothorax.",
    "FINDINGS: Mass in the soft tissue\nIMPRESSION: No pneumothorax.",
    # a body region carries on into a following section of the same name
    "FINDINGS: Right knee: small effusion.\nFINDINGS: Small effusion.",
    "FINDINGS: Small effusion.",
    "FINDINGS: Abdomen: small pleural effusions at the lung bases. Free air.",
    "IMPRESSION: Abdomen: small pleural effusions at the lung bases. Free air.",
    "FINDINGS: Chest: no effusion.\nFINDINGS: Small effusion.\nIMPRESSION: Small effusion.",
    # the same content behind other characters (the sentence split looks two back)
    "IMPRESSION:No pneumothorax.",
    "IMPRESSION:  No pneumothorax.",
    "Small left pleural effusion. No pneumothorax.",
    "FINDINGS: Pacemaker with tip in the right ventricle. Right IJ line with tip in the SVC.",
    "IMPRESSION: Pacemaker with tip in the right ventricle. Right IJ line with tip in the SVC.",
]


def _fresh(text: str) -> Report:
    lex = lexicon()
    lex.memo = lex.section_memo = None
    try:
        return read(text)
    finally:
        lex.memo = lex.section_memo = None


def _check_spans(report: Report) -> None:
    text = report.text
    for s in report.sentences:
        assert text[s.start : s.end] == s.text
    for m in report.mentions:
        assert text[m.span.start : m.span.end] == m.span.text
        assert text[m.sentence.start : m.sentence.end] == m.sentence.text
        if m.size is not None:
            assert text[m.size.span.start : m.size.span.end] == m.size.span.text


@pytest.mark.parametrize("order", [1, -1])
def test_memo_reads_like_a_fresh_reading(order: int) -> None:
    texts = TEXTS[::order]
    expected = [_fresh(t) for t in texts]
    lex = lexicon()
    lex.memo = lex.section_memo = None
    got = [read(t) for t in texts]
    got_again = [read(t) for t in texts]  # every section now kept
    got_third = [read(t) for t in texts]  # and every one from the memo
    assert got == expected
    assert got_again == expected
    assert got_third == expected
    for r in got_third:
        _check_spans(r)
    # the memo is used: moved readings (a section at another offset) among them
    assert any(m.region for r in got_third for m in r.mentions)
    assert len(sectionmemo.section_memo_of(lex).entries) < sum(len(r.sections) for r in got)


def test_a_repeated_section_is_not_read_again() -> None:
    # Observed through the memo, not by patching read_section: in the compiled build one
    # compiled function calls another directly, past any patched module attribute.
    text = "FINDINGS: Small effusion.\nIMPRESSION: No pneumothorax."
    expected = _fresh("INDICATION: cough.\nIMPRESSION: No pneumothorax.")
    lex = lexicon()
    lex.memo = lex.section_memo = None
    read(text)
    memo = sectionmemo.section_memo_of(lex)
    assert (len(memo.entries), len(memo.sighted)) == (0, 2)  # a first sighting is noted only
    second = read(text)
    assert (len(memo.entries), len(memo.sighted)) == (2, 0)  # the second is kept
    third = read(text)  # and the third is the kept reading itself, not a new one
    assert all(a is b for a, b in zip(third.sentences, second.sentences, strict=True))
    assert third == second
    moved = read("INDICATION: cough.\nIMPRESSION: No pneumothorax.")
    assert moved == expected  # the impression moved from the memo; the indication is new
    assert (len(memo.entries), len(memo.sighted)) == (2, 1)


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sectionmemo, "MAX_SECTIONS", 4)
    lex = lexicon()
    lex.memo = lex.section_memo = None
    try:
        for i in range(20):
            read(f"FINDINGS: No pneumothorax {i}. Small effusion {i}.")
            read(f"FINDINGS: No pneumothorax {i}. Small effusion {i}.")
        memo = sectionmemo.section_memo_of(lex)
        assert 0 < len(memo.entries) <= 4 and len(memo.sighted) <= 4
        assert read("FINDINGS: No pneumothorax 3.") == _fresh("FINDINGS: No pneumothorax 3.")
    finally:
        lex.memo = lex.section_memo = None


def test_rules_reloaded_forget_every_reading() -> None:
    memo = sectionmemo.SectionMemo()
    rules = (object(), object())
    memo.check(rules)
    memo.put(("k",), 0, ([], [], None))
    assert memo.get(("k",), 0) is None  # sighted once: not kept
    memo.put(("k",), 0, ([], [], None))
    memo.check(rules)
    assert memo.get(("k",), 0) is not None
    memo.check((rules[0], object()))
    assert memo.get(("k",), 0) is None

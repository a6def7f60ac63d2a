"""The query language: a case table (valid and invalid) and properties with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.reports.models import Change, Laterality
from radpilot.search.query import FindingTerm, Polarity, Query, parse_date, parse_query

L, R, B = Laterality.LEFT, Laterality.RIGHT, Laterality.BILATERAL


@pytest.mark.parametrize(
    ("text", "findings", "words", "meta"),
    [
        ("pneumothorax", [("pneumothorax", Polarity.ANY, None, None)], [], {}),
        (
            "new left pneumothorax since:2024-01-01 -effusion",
            [
                ("pneumothorax", Polarity.ANY, L, Change.NEW),
                ("pleural_effusion", Polarity.EXCLUDE, None, None),
            ],
            [],
            {"since": "2024-01-01"},
        ),
        ("Pleural Effusions", [("pleural_effusion", Polarity.ANY, None, None)], [], {}),
        ("absent:pneumothorax", [("pneumothorax", Polarity.ABSENT, None, None)], [], {}),
        (
            'uncertain:"pleural effusion"',
            [("pleural_effusion", Polarity.UNCERTAIN, None, None)],
            [],
            {},
        ),
        ("+cardiomegaly", [("cardiomegaly", Polarity.PRESENT, None, None)], [], {}),
        ("pneumothorax right worse", [("pneumothorax", Polarity.ANY, R, Change.WORSE)], [], {}),
        (
            "side:bilateral change:stable effusion",
            [("pleural_effusion", Polarity.ANY, B, Change.STABLE)],
            [],
            {},
        ),
        ("central line tip", [("central_line", Polarity.ANY, None, None)], ["tip"], {}),
        ("left", [], ["left"], {}),
        ("the cases of", [], [], {}),
        ('"azygos fissure" -xxxx', [], ["azygos fissure"], {"excluded_words": ("xxxx",)}),
        (
            "patient:P1 modality:cr until:2024 since:2023-06 body:chest",
            [],
            [],
            {
                "patient": "P1",
                "modality": "CR",
                "until": "2024-12-31",
                "since": "2023-06-01",
                "body_part": "CHEST",
            },
        ),
        ("until:2024-02", [], [], {"until": "2024-02-29"}),
    ],
)
def test_parse_cases(text: str, findings: list, words: list, meta: dict) -> None:
    q = parse_query(text)
    assert [(t.finding, t.polarity, t.laterality, t.change) for t in q.findings] == findings
    assert list(q.words) == words
    for key, value in meta.items():
        assert getattr(q, key) == value


def test_location_modifier() -> None:
    q = parse_query('loc:"upper lobe" nodule')
    assert q.findings[0].location == "upper lobe" and q.findings[0].finding == "nodule"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo:bar", "unknown filter 'foo:'"),
        ("since:yesterday", "since:'yesterday' is not a date"),
        ("until:2024-13", "is not a date"),
        ("since:2023-02-30", "is not a date"),
        ("absent:banana", "not a finding the reader knows"),
        ("+banana", "not a finding the reader knows"),
        ("side:up pneumothorax", "side:'up'; valid: left, right, bilateral"),
        ("change:sideways effusion", "valid: new, worse, better, stable, resolved"),
        ("side:left", "constrain a finding"),
        ('"unclosed pneumothorax', "a double quote is not closed"),
        ("patient:", "needs a value"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=None) as exc:
        parse_query(text)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [("2024", False, "2024-01-01"), ("2024", True, "2024-12-31"), ("2023-02", True, "2023-02-28")],
)
def test_parse_date(value: str, end: bool, expected: str) -> None:
    assert parse_date(value, end=end) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        q = parse_query(text)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(q, Query)


_FINDINGS = ["pneumothorax", "cardiomegaly", "pleural effusion", "atelectasis", "rib fracture"]
_WORDS = st.text(alphabet="qwxzjk", min_size=3, max_size=8)  # never a finding or modifier


@st.composite
def queries(draw: st.DrawFn) -> Query:
    terms = []
    for name in draw(st.lists(st.sampled_from(_FINDINGS), max_size=3)):
        pol = draw(st.sampled_from(list(Polarity)))
        lat = draw(st.sampled_from([None, *Laterality])) if pol is not Polarity.EXCLUDE else None
        chg = draw(st.sampled_from([None, *Change])) if pol is not Polarity.EXCLUDE else None
        fid = parse_query(f'"{name}"').findings[0].finding
        terms.append(FindingTerm(fid, pol, lat, chg, None, name))
    words = draw(st.lists(_WORDS, max_size=3))
    excluded = draw(st.lists(_WORDS, max_size=2))
    year = draw(st.none() | st.integers(1990, 2030))
    return Query(
        findings=tuple(terms),
        words=tuple(words),
        excluded_words=tuple(excluded),
        since=f"{year}-01-01" if year else None,
        patient=draw(st.none() | st.sampled_from(["P1", "MRN 7", "a'b"])),
    )


@settings(max_examples=200, deadline=None)
@given(queries())
def test_to_string_round_trips(q: Query) -> None:
    assert parse_query(q.to_string()) == q

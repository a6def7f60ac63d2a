"""Property tests of every parser drafting adds: phrases, citations, analysis JSON,
language-model configuration, and the citation checker itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError, RadpilotError
from radpilot.workflow.cite import citations_of, split_sentences, verify_answer
from radpilot.workflow.inputs import from_analysis, split_phrases
from radpilot.workflow.llm import config_from

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


@given(st.text(max_size=200))
def test_split_phrases_keeps_every_non_blank_piece(text: str) -> None:
    phrases = split_phrases(text)
    assert all(p and p == p.strip() and ";" not in p and "\n" not in p for p in phrases)

    def bare(t: str) -> str:
        return "".join(c for c in t if not c.isspace() and c != ";")

    assert bare("".join(phrases)) == bare(text)


@given(st.text(max_size=300))
def test_citations_are_bracketed_text_of_the_answer(text: str) -> None:
    for rid in citations_of(text):
        assert rid and rid in text and "[" not in rid and "]" not in rid


@given(st.lists(st.from_regex(r"[A-Z][0-9]{1,3}", fullmatch=True), min_size=1, max_size=4))
def test_citation_lists_are_split(ids: list[str]) -> None:
    unique = list(dict.fromkeys(ids))
    assert citations_of(f"Something [{', '.join(ids)}].") == tuple(unique)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_JSON)
def test_analysis_parser_fails_only_with_one_line(tmp_path: Path, raw: object) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))
    try:
        from_analysis(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_JSON)
def test_llm_config_file_fails_only_with_one_line(tmp_path: Path, raw: object) -> None:
    path = tmp_path / "llm.json"
    path.write_text(json.dumps(raw))
    try:
        config_from(None, config=path)
    except RadpilotError as exc:
        assert "\n" not in str(exc)
    except ValueError as exc:  # pydantic's own, from flags merged into the file's values
        pytest.fail(f"not a one-line radpilot error: {type(exc).__name__}")


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from("abc [].R1,\n"), max_size=80))
def test_checker_never_passes_an_unknown_citation(answer: str) -> None:
    checked = verify_answer(answer, {"R1": "FINDINGS: Cardiomegaly."})
    for s in checked.kept:
        assert set(s.citations) <= {"R1"}
    assert len(checked.kept) + len(checked.flagged) == len(split_sentences(answer))


def test_checker_polarity_and_hierarchy() -> None:
    reports = {"A": "FINDINGS: Small left pleural effusion. No pneumothorax.", "B": "Cardiomegaly."}
    ok = verify_answer(
        "There was an effusion [A]. No pneumothorax [A]. The heart was enlarged [B].", reports
    )
    assert ok.verified and len(ok.kept) == 3
    bad = verify_answer("A pneumothorax was seen [A]. Cardiomegaly was noted.", reports)
    assert [f.reason for f in bad.flagged] == [
        "pneumothorax is not stated in A",
        "states a finding without citing a report",
    ]

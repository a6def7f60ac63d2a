"""The pages' pure parts: the search facets (a parser of user input: hypothesis), the
evidence highlighting, window/level and the heatmap's colours."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.search.query import parse_query
from radpilot.server import pageviews
from radpilot.server.pageviews import Facets


def test_facets_make_the_search_query() -> None:
    f = Facets(finding="pleural effusion", certainty="present", laterality="left", since="2024")
    assert f.query() == 'side:left present:"pleural effusion" since:2024'
    q = parse_query(f.query())
    assert [t.finding for t in q.findings] == ["pleural_effusion"]
    assert Facets(text="new nodule", modality="cr").query() == "new nodule modality:CR"
    assert Facets().query() == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [("certainty", "maybe"), ("laterality", "up"), ("since", "yesterday"), ("modality", "C R")],
)
def test_a_bad_facet_is_one_line_naming_it(field: str, value: str) -> None:
    with pytest.raises(InputError, match=f"search facet {field}: not valid"):
        Facets(**{field: value})


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=40),
    finding=st.text(max_size=30),
    certainty=st.sampled_from([*pageviews.CERTAINTIES, "x"]),
    laterality=st.sampled_from([*pageviews.SIDES, "up"]),
    since=st.one_of(
        st.just(""), st.from_regex(r"\d{4}(-\d\d)?", fullmatch=True), st.text(max_size=8)
    ),
    modality=st.text(max_size=5),
)
def test_facets_never_fail_but_with_an_input_error(
    text: str, finding: str, certainty: str, laterality: str, since: str, modality: str
) -> None:
    try:
        f = Facets(text, finding, certainty, laterality, since, "", modality)
    except InputError as exc:
        message = str(exc)
        assert message.startswith("search facet ") and "\n" not in message
        return
    try:
        parse_query(f.query())  # whatever the facets make, the query language reads or refuses
    except InputError:
        pass


@given(
    st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=5)
)
def test_marked_keeps_every_character_once(text: str, spans: list[tuple[int, int]]) -> None:
    pieces = pageviews.marked(text, spans)
    assert "".join(p for p, _ in pieces) == text
    hot: set[int] = set()
    at = 0
    for piece, marked in pieces:
        if marked:
            hot |= set(range(at, at + len(piece)))
        at += len(piece)
    wanted = {i for a, b in spans for i in range(max(0, a), min(len(text), b))}
    assert hot == wanted


def test_window_and_level() -> None:
    ramp = np.linspace(0.0, 1.0, 101, dtype=np.float32).reshape(1, -1)
    full = pageviews.windowed(ramp, 50, 100)
    assert full[0, 0] == 0 and full[0, -1] == 255 and full[0, 50] in (127, 128)
    narrow = pageviews.windowed(ramp, 50, 20)
    assert narrow[0, 39] == 0 and narrow[0, 61] == 255  # outside the window: clipped
    assert (np.diff(narrow.astype(int)) >= 0).all()
    with pytest.raises(InputError, match="level"):
        pageviews.windowed(ramp, 150, 10)


def test_heat_is_transparent_where_cold() -> None:
    heat = np.array([[0.0, 0.1, 0.5, 1.0]], dtype=np.float32)
    rgba = pageviews.heat_rgba(heat)
    assert rgba.shape == (1, 4, 4) and list(rgba[0, :2, 3]) == [0, 0]
    assert rgba[0, 3, 3] > rgba[0, 2, 3] > 0 and rgba[0, 3, 0] > rgba[0, 3, 2]  # hot is red


def test_waiting_times() -> None:
    assert [pageviews.waiting(m) for m in (3, 75, 60 * 26)] == ["3 min", "1 h 15 min", "1 d 2 h"]

"""Queries no backend can encode: a lone surrogate is an input error (one line), on both
backends, never a driver's UnicodeEncodeError."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.interop.records import make_record
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.query import Query
from radpilot.search.store import ArchiveStore, open_store

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@pytest.fixture(scope="module")
def archive(new_archive: Callable[[str], str]) -> Iterator[ArchiveStore]:
    store = open_store(new_archive("surrogates"))
    ingest_records(store, [make_record(rid="S1", text="FINDINGS: Small left effusion.")], jobs=1)
    yield store
    store.close()


@pytest.mark.parametrize(
    "query", ["\ud800", "effusion\udfff", "-\ud800x", 'loc:"\udc80" effusion', "patient:\udcff"]
)
def test_a_lone_surrogate_is_an_input_error(archive: ArchiveStore, query: str) -> None:
    with pytest.raises(InputError, match=r"lone surrogate \(U\+D[89A-F][0-9A-F]{2}\)") as exc:
        search(archive, query, semantic=False)
    assert "\n" not in str(exc.value)


def test_a_built_query_is_checked_too(archive: ArchiveStore) -> None:
    with pytest.raises(InputError, match="lone surrogate"):
        search(archive, Query(words=("effusion\ud800",)), semantic=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=20), SURROGATES, st.text(max_size=20))
def test_any_query_with_a_surrogate_fails_cleanly(
    archive: ArchiveStore, before: str, bad: str, after: str
) -> None:
    with pytest.raises(InputError) as exc:
        search(archive, before + bad + after, semantic=False)
    assert "\n" not in str(exc.value)
    # The message names the position and code point, never the query's text.
    assert bad not in str(exc.value) and f"character {len(before) + 1} " in str(exc.value)

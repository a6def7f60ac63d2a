"""A finding query's qualifiers that the reader reads as the mention's attributes (a
degree: "mildly", "multiple") and the report words that write a query word inside
another ("dextroscoliosis", "thoracolumbar", "tortuosity"): hand-written reports, the real
reader, no mocks. Each test fails when its mechanism is taken out."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from radpilot.errors import VocabularyError
from radpilot.search.config import _degrees, query_words
from radpilot.search.engine import search
from radpilot.search.store import ArchiveStore

REPORTS = {
    # A severity asked is answered by its words and, for a slight degree, the slightest
    # ("minimal"), before the finding written in the query's own words without it
    # (T3, T4: "tortuous aorta" twice, the higher stored score).
    "T1": "FINDINGS: Mild tortuosity of the thoracic aorta. Lungs are clear.",
    "T2": "FINDINGS: Heart size normal. Minimal tortuosity of the aorta.",
    "T3": "FINDINGS: Tortuous aorta. IMPRESSION: Tortuous aorta.",
    "T4": "FINDINGS: Heart size is mildly enlarged. Tortuous aorta.\nIMPRESSION: Tortuous aorta.",
    # A count asked: the query's noun in the plural or a count word in the sentence
    # (C1, C2) before one granuloma said twice (C3); another finding of the family in the
    # plural ("degenerative changes") is no count of osteophytes (S2).
    "C1": "FINDINGS: Calcified granulomas in the right upper lobe.",
    "C2": "FINDINGS: Several calcified granulomata are present.",
    "C3": "FINDINGS: Calcified granuloma in the left lower lobe.\nIMPRESSION: Calcified granuloma.",
    # A count said in words (O2, O3: "a few", "multifocal") before one said only by the
    # plural (O1), before a single opacity said twice (O4).
    "O1": "FINDINGS: There are patchy opacities in the right upper lobe.",
    "O2": "FINDINGS: A few ill-defined opacities in the lung bases.",
    "O3": "FINDINGS: Multifocal opacities in both lungs.",
    "O4": "FINDINGS: Focal opacity in the left lower lobe.\nIMPRESSION: Left lower lobe opacity.",
    "S1": "FINDINGS: Osteophytes of the thoracic spine.",
    "S2": "FINDINGS: Degenerative changes of the spine with osteophyte formation.\n"
    "IMPRESSION: Degenerative changes of the spine.",
    # A place word joined into another ("thoracolumbar") and a side joined to the
    # finding's word ("dextroscoliosis"): both are written, before a scoliosis said twice
    # with no place (K3).
    "K1": "FINDINGS: Dextroscoliosis of the thoracolumbar spine.",
    "K2": "FINDINGS: Levoscoliosis of the thoracic spine.",
    "K3": "FINDINGS: Scoliosis. IMPRESSION: Stable scoliosis.",
    "K4": "FINDINGS: Mild scoliosis of the lumbar spine.",
}


@pytest.fixture(scope="module")
def archive(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("degrees", REPORTS)


def ids(store: ArchiveStore, query: str) -> list[str]:
    return [h.report.id for h in search(store, query, limit=20, semantic=False).hits]


def test_a_severity_asked_ranks_the_mentions_of_that_degree_first(archive: ArchiveStore) -> None:
    got = ids(archive, "mildly tortuous aorta")
    assert set(got[:2]) == {"T1", "T2"}, got
    # "mildly enlarged" is the heart's, in another sentence: no degree of the aorta.
    assert set(got[2:4]) == {"T3", "T4"}, got


def test_a_count_asked_is_the_plural_or_a_count_word(archive: ArchiveStore) -> None:
    got = ids(archive, "multiple calcified granulomas")
    assert set(got[:2]) == {"C1", "C2"} and got[2] == "C3", got
    assert ids(archive, "multiple osteophytes")[0] == "S1"


def test_a_count_in_words_ranks_before_the_plural_alone(archive: ArchiveStore) -> None:
    got = ids(archive, "multifocal opacities")
    assert set(got[:2]) == {"O2", "O3"} and got[2] == "O1" and got.index("O4") > 2, got


@pytest.mark.parametrize(
    ("query", "first"),
    [("thoracic scoliosis", {"K1", "K2"}), ("lumbar scoliosis", {"K1", "K4"})],
)
def test_a_word_joined_into_another_is_written(
    archive: ArchiveStore, query: str, first: set[str]
) -> None:
    got = ids(archive, query)
    assert set(got[:2]) == first, got


def test_degrees_name_the_readers_severities() -> None:
    qw = query_words()
    assert "minimal" in qw.degrees["mildly"] and "moderate" not in qw.degrees["mild"]
    # "prominent" is the reader's "severe", which the query reads as a plain word.
    assert "prominent" not in qw.degrees
    with pytest.raises(VocabularyError, match="gigantic"):
        _degrees({"mild": ["gigantic"]}, {"mild": "mild"})

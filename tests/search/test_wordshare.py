"""Among matches of one certainty, the report that names the finding in the query's own
words ranks first (``search.wordshare``): the whole phrase stated where the finding is
present, then the share of the query's finding words its mention holds. Hand-written
reports, the real reader, both backends; each test fails with its mechanism taken out
(the stored scores alone rank the other report first)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from radpilot.search.engine import search
from radpilot.search.query import parse_query
from radpilot.search.store import ArchiveStore
from radpilot.search.wordshare import forms, query_phrase

REPORTS = {
    # Two of the query's three words said three times, in the impression too, against all
    # three in another form ("coarsened"), so neither writes the phrase itself.
    "M1": "FINDINGS: Coarse markings in both lungs. Coarse markings at the bases.\n"
    "IMPRESSION: Coarse markings.",
    "M2": "FINDINGS: Coarsened interstitial markings.",
    # A qualifier the reader keeps out of its term, in the mention's own sentence.
    "Q1": "FINDINGS: Bibasilar opacities.\nIMPRESSION: Bibasilar opacities, left more than right.",
    "Q2": "FINDINGS: Streaky bibasilar opacities.",
    # A place inside the finding's synonym ("apical scarring"), where the reader put it.
    "A1": "FINDINGS: Scarring in the left lung base.\nIMPRESSION: Left basilar scarring.",
    "A2": "FINDINGS: Scarring at the left apex.",
    # The query's whole phrase once, against its words spread over three mentions.
    "P1": "FINDINGS: Atelectasis in the left base. Atelectasis in the left basilar segments."
    "\nIMPRESSION: Left base atelectasis.",
    "P2": "FINDINGS: Left basilar atelectasis.",
    # The phrase written where the reader reads the finding as negated is no statement.
    "P3": "FINDINGS: No left basilar atelectasis. Atelectasis at the left base.\n"
    "IMPRESSION: Left base atelectasis, more at the base.",
    # The query's words in another form of the same word ("aortic" -> "aorta",
    # "calcification" -> "calcified"), against one of them in the query's own form said
    # twice (the higher stored score).
    "F1": "FINDINGS: Vascular calcifications.\nIMPRESSION: Vascular calcifications.",
    "F2": "FINDINGS: The aorta is calcified.",
    "F3": "FINDINGS: Tortuous calcified aorta.",
    # A word naming the organ ("lungs", "pulmonary") says less than the finding's own word:
    # the distinctive word once (O2, O4) before the organ word in a synonym said often.
    "O1": "FINDINGS: Hyperexpanded lungs. Hyperexpanded lungs with flattened diaphragms.\n"
    "IMPRESSION: Hyperexpanded lungs.",
    "O2": "FINDINGS: Hyperlucent apices.",
    "O3": "FINDINGS: Pulmonary vascular prominence. Pulmonary vascular prominence.\n"
    "IMPRESSION: Pulmonary vascular prominence.",
    "O4": "FINDINGS: Mild vascular congestion.",
    # The noun of an adjective in -ent ("hyperlucency" for "hyperlucent").
    "O5": "FINDINGS: Hyperlucency of the left lung.",
}


@pytest.fixture(scope="module")
def archive(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("wordshare", REPORTS)


def ids(store: ArchiveStore, query: str) -> list[str]:
    return [h.report.id for h in search(store, query, limit=20, semantic=False).hits]


def test_the_querys_own_words_before_a_synonym(archive: ArchiveStore) -> None:
    res = search(archive, "coarse interstitial markings", semantic=False)
    got = [h.report.id for h in res.hits]
    assert got == ["M2", "M1"]
    # The synonym's report has the higher stored score: only the word share orders them.
    assert res.hits[1].score > res.hits[0].score


@pytest.mark.parametrize(
    ("query", "expected"),
    [("hyperlucent lungs", ["O2", "O5", "O1"]), ("pulmonary vascular congestion", ["O4", "O3"])],
)
def test_an_organ_word_counts_less_than_the_findings_own(
    archive: ArchiveStore, query: str, expected: list[str]
) -> None:
    got = ids(archive, query)[: len(expected)]
    assert sorted(got[:-1]) == sorted(expected[:-1]) and got[-1] == expected[-1]


def test_the_terms_other_words_count_in_the_sentence_and_places(archive: ArchiveStore) -> None:
    res = search(archive, "streaky opacities", semantic=False)
    assert [h.report.id for h in res.hits][:2] == ["Q2", "Q1"]
    assert res.hits[1].score > res.hits[0].score
    res = search(archive, "left apical scarring", semantic=False)
    assert [h.report.id for h in res.hits] == ["A2", "A1"]
    assert res.hits[1].score > res.hits[0].score


def test_another_form_of_the_querys_word_is_its_word(archive: ArchiveStore) -> None:
    res = search(archive, "aortic calcification", semantic=False)
    got = [h.report.id for h in res.hits]
    assert set(got[:2]) == {"F2", "F3"} and got[2] == "F1"
    assert max(h.score for h in res.hits[:2]) < res.hits[2].score
    # A plural takes the forms of its singular.
    assert "aorta" in forms("aortic") and "calcified" in forms("Calcifications")


def test_the_stated_phrase_ranks_first(archive: ArchiveStore) -> None:
    res = search(archive, "left basilar atelectasis", semantic=False)
    got = [h.report.id for h in res.hits]
    assert got[0] == "P2"
    assert {"P1", "P3"} <= set(got)
    by_id = {h.report.id: h.score for h in res.hits}
    assert by_id["P1"] > by_id["P2"]
    # P3 writes the phrase only in its negated sentence: not a stated phrase.
    plain = search(archive, "atelectasis left basilar", semantic=False)
    assert plain.hits[0].report.id != "P3"


def test_the_phrase_is_the_querys_plain_words_in_order() -> None:
    assert query_phrase(parse_query("left basilar atelectasis")) == "left basilar atelectasis"
    assert query_phrase(parse_query('since:2020 "left basilar" atelectasis -effusion')) == (
        "left basilar atelectasis"
    )
    assert query_phrase(parse_query("+pneumothorax")) is None


# A word of the query's finding that many reports write ("markings": interstitial, lung,
# increased markings) tells less than one few write ("bronchovascular"), as BM25 weighs
# them: the report with the rare word ranks first, though the common one is beside another
# query word ("prominent") and said twice; the same without that word, and another
# finding ("vascular" of vascular prominence, "congestion").
COMMON = {
    "W1": "FINDINGS: Prominent interstitial markings.\nIMPRESSION: Prominent interstitial markings.",
    "W2": "FINDINGS: Prominent lung markings. Heart size normal.",
    "W3": "FINDINGS: Coarse interstitial markings, prominent at the bases.",
    "W4": "FINDINGS: Increased prominent markings throughout both lungs.",
    "W5": "FINDINGS: Bronchovascular crowding. Heart size normal.",
    "V1": "FINDINGS: Pulmonary vascular prominence.\nIMPRESSION: Vascular prominence.",
    "V2": "FINDINGS: Mild vascular prominence. Heart size normal.",
    "V3": "FINDINGS: Central vascular prominence, no edema.",
    "V4": "FINDINGS: Mild central congestion.",
    "V5": "FINDINGS: Vascular prominence at the bases.",
}


@pytest.fixture(scope="module")
def common(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("common_words", COMMON)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("prominent bronchovascular markings", "W5"),
        ("bronchovascular markings", "W5"),
        ("vascular congestion", "V4"),
    ],
)
def test_a_word_many_reports_write_tells_less(common: ArchiveStore, query: str, first: str) -> None:
    res = search(common, query, semantic=False)
    got = [h.report.id for h in res.hits]
    assert got[0] == first, [(h.report.id, [m.finding for m in h.mentions]) for h in res.hits]

"""The mechanisms that keep a finding query at least as precise as plain full-text search
(BENCHMARKS "Archive and search / Quality"): each on hand-written reports, the real reader,
no mocks. A test names the mechanism; each fails when it is taken out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from radpilot.interop.records import make_record
from radpilot.search.engine import search
from radpilot.search.freewords import negated_words
from radpilot.search.ingest import ingest_records
from radpilot.search.store import ArchiveStore, open_store

REPORTS = {
    # A family scores its best member: four tubes are no better an answer to "catheter".
    "D1": "FINDINGS: Central venous catheter in place. Lungs are clear.",
    "D2": "FINDINGS: Endotracheal tube, enteric tube and right chest tube in place. "
    "Tracheostomy tube noted.",
    # The reader misses a redacted wording; words fill the page after the reader's matches.
    "B1": "FINDINGS: Blunting of the right costophrenic angle.",
    "B2": "FINDINGS: There is blunting of the left costophrenic XXXX. Heart size normal.",
    "B3": "FINDINGS: No blunting of the costophrenic XXXX. Heart size normal.",
    "B4": "FINDINGS: Clavicle is intact. Blunting of the costophrenic XXXX is not seen.",
    # Free words of a finding query prefer the evidence: sentence and locations.
    "O1": "FINDINGS: Patchy opacity in the right upper lobe. The right middle lobe fissure "
    "is normal. IMPRESSION: Right upper lobe opacity.",
    "O2": "FINDINGS: Patchy opacity in the right middle lobe.",
    "L1": "FINDINGS: Left upper lobe atelectasis. Lower lobes are clear.\n"
    "IMPRESSION: Left upper lobe atelectasis.",
    "L2": "FINDINGS: Left basilar atelectasis.",
    # A qualifier ("focal") near the evidence weighs less than the query's own word for
    # the finding ("density", which the reader reads as an opacity), a place more.
    "Q1": "FINDINGS: Focal opacity in the right upper lobe. IMPRESSION: Focal opacity.",
    "Q2": "FINDINGS: Right upper lobe density.",
    "Q3": "FINDINGS: Left basilar density.",
    # A site named on one side only: the lingula is the left mid zone on a radiograph.
    "N1": "FINDINGS: Right midlung atelectasis. IMPRESSION: Right midlung atelectasis.",
    "N2": "FINDINGS: Atelectasis in the left midlung.",
    "N3": "FINDINGS: Lingular atelectasis.",
    # The place asked before certainty: an uncertain atelectasis at the lingula before a
    # certain one the reader placed nowhere (said twice: the higher stored score).
    "U1": "FINDINGS: Atelectasis. IMPRESSION: Atelectasis.",
    "U2": "FINDINGS: Scarring or atelectasis in the left midlung.",
    # A place the query names: a mention the reader placed only elsewhere ranks after
    # one at the place or placed nowhere, certain or not (the stored scores say otherwise).
    "W1": "FINDINGS: Biapical scarring. IMPRESSION: Biapical scarring.",
    "W2": "FINDINGS: Left basilar opacity, possibly scarring.",
    "W3": "FINDINGS: Left basilar scarring.",
    "W4": "FINDINGS: Scarring in the left upper lobe. IMPRESSION: Left upper lobe scarring.",
    "W5": "FINDINGS: Right upper lobe atelectasis. IMPRESSION: Right upper lobe atelectasis.",
    "W6": "FINDINGS: Right lower lobe atelectasis versus pneumonia.",
    # A free word (no finding) counts only where it is asserted.
    "G1": "FINDINGS: No goiter. Heart size normal.",
    "G2": "FINDINGS: Large goiter deviates the trachea.",
    "G3": "FINDINGS: Heart size normal. INDICATION: Mother has goiter.",
    # Literal: the derived form names the finding; the whole phrase is closer than its head.
    # (The literal answers are stored first: on a tie the later report ranks first.)
    "E2": "FINDINGS: Atherosclerotic calcification of the aorta.",
    "E1": "FINDINGS: Calcified aorta.",
    "H2": "FINDINGS: Hyperinflated lungs.",
    "H1": "FINDINGS: Hyperexpanded lungs.",
    "I2": "FINDINGS: Prominent interstitial markings.",
    "I1": "FINDINGS: Prominent lung markings.",
    # "-itis" is written "-itic" ("arthritic changes"): literal, before a report that says
    # "degenerative changes" twice (the reader reads all three as the same finding).
    "R1": "FINDINGS: Arthritic changes of the spine.",
    "R2": "FINDINGS: There are arthritic changes throughout the thoracic spine.",
    "R3": "FINDINGS: Degenerative changes of the spine.\nIMPRESSION: Degenerative changes.",
    # The words fill of a side-less finding of two words: a sentence that states both (F1,
    # F2, where the reader read another finding) before a report that writes one word
    # often and the other in another sentence (F3: "scarring" twice, "no pleural effusion").
    "F0": "FINDINGS: Pleural scarring at the right apex.",
    "F1": "FINDINGS: Mild biapical pleural-peripheral scarring. The lungs are otherwise clear.",
    "F2": "FINDINGS: Scarring, pleural in location, along the left lateral chest wall.",
    "F3": "FINDINGS: Scarring is unchanged. No pleural effusion.\nIMPRESSION: Stable scarring.",
}


@pytest.fixture(scope="module")
def archive(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("precision", REPORTS)


def ids(store: ArchiveStore, query: str, limit: int = 20) -> list[str]:
    return [h.report.id for h in search(store, query, limit=limit, semantic=False).hits]


def test_a_family_scores_its_best_member_not_the_sum(archive: ArchiveStore) -> None:
    # D2 has four devices of the support-device family, D1 one catheter named as asked.
    assert ids(archive, "catheter")[0] == "D1"


def test_few_reader_matches_fill_up_from_the_words(archive: ArchiveStore) -> None:
    """B1 is the reader's match; B2 ("costophrenic XXXX") only the words find. B3 and B4
    negate the blunting (targets mode), so words do not bring them back."""
    res = search(archive, "blunted costophrenic angle", semantic=False)
    got = [h.report.id for h in res.hits]
    assert got == ["B1", "B2"]
    assert res.hits[0].parts["finding"] > 0 and res.hits[1].parts["finding"] == 0.0


def test_the_fill_takes_the_words_said_together_first(archive: ArchiveStore) -> None:
    got = ids(archive, "pleural scarring")
    assert got[0] == "F0" and set(got[1:3]) == {"F1", "F2"} and "F3" in got[3:]


def test_the_fill_never_overrules_the_reader(archive: ArchiveStore) -> None:
    # "+" asks for the reader's judgement (present): words cannot give it.
    assert ids(archive, '+"costophrenic blunting"') == ["B1"]
    # A page the reader fills alone takes nothing from the words.
    assert ids(archive, "blunted costophrenic angle", limit=1) == ["B1"]
    # The right side was read for B1; nothing else names a right blunting in words.
    assert ids(archive, "right blunted costophrenic angle") == ["B1"]


def test_free_words_prefer_the_findings_sentence_and_locations(archive: ArchiveStore) -> None:
    # O1 says "middle lobe" in another sentence (and its opacity is in the impression too).
    assert ids(archive, "right middle lobe opacity")[:2] == ["O2", "O1"]
    # "lower lobe" is answered by the reader's "basilar" (near_locations); L1 writes
    # "lower lobes" in a sentence of its own.
    got = ids(archive, "left lower lobe atelectasis")
    assert got[0] == "L2" and "L1" in got
    # The finding's own word before a qualifier; a place before the finding's word.
    assert set(ids(archive, "focal density")[:2]) == {"Q2", "Q3"}
    assert ids(archive, "right upper lobe density")[:2] == ["Q2", "Q1"]
    # A near location may name a side ("lingula": "left mid zone"): the right one is not.
    got = ids(archive, "lingular atelectasis")
    assert got[:2] in (["N3", "N2"], ["N2", "N3"]) and got.index("N1") > 1
    # Then the uncertain one at the place, the one placed nowhere, the one elsewhere.
    assert got.index("U2") < got.index("U1") < got.index("N1")


def test_a_mention_placed_elsewhere_ranks_after_the_place(archive: ArchiveStore) -> None:
    got = ids(archive, "left basilar scarring")
    assert got[:2] == ["W3", "W2"] and set(got[2:4]) == {"W1", "W4"}
    got = ids(archive, "right lower lobe atelectasis")
    assert got.index("W6") < got.index("W5")
    # With no place asked the stored scores rank: certain before uncertain.
    got = ids(archive, "scarring")
    assert got.index("W2") > max(got.index(r) for r in ("W1", "W3", "W4"))


def test_a_free_word_counts_only_where_asserted(archive: ArchiveStore) -> None:
    """ "goiter" is no finding: "No goiter." has no mention to mask, and "Mother has
    goiter" is someone else's. The targets mode reads each occurrence."""
    assert ids(archive, "goiter") == ["G2"]
    assert negated_words(REPORTS["G1"], ["goiter", "heart"]) == {"goiter"}
    assert negated_words(REPORTS["G2"], ["goiter"]) == set()


def test_literal_forms_and_phrases_rank_first(archive: ArchiveStore) -> None:
    # "atherosclerotic" names atherosclerosis in its own word (derived_endings), as
    # "hyperinflated" names hyperinflation; "calcified", "hyperexpanded" do not.
    assert ids(archive, "atherosclerosis") == ["E2", "E1"]
    assert ids(archive, "hyperinflation") == ["H2", "H1"]
    # The query's whole phrase in one mention before its head word alone.
    assert ids(archive, "interstitial markings") == ["I2", "I1"]
    got = ids(archive, "arthritis")
    assert set(got[:2]) == {"R1", "R2"} and got.index("R3") == 2


def test_a_side_inside_a_findings_synonym_is_the_querys_side() -> None:
    """ "elevated right hemidiaphragm" is one synonym; the reader gives its mention the
    side, so the query asks for the right side too (not either)."""
    from radpilot.search.query import parse_query

    (t,) = parse_query("elevated right hemidiaphragm").findings
    assert t.finding == "elevated_hemidiaphragm" and t.laterality is not None
    assert t.laterality.value == "right"
    (t,) = parse_query("elevated hemidiaphragm").findings
    assert t.laterality is None


def test_a_finding_under_another_body_region_is_no_chest_answer(tmp_path: Path) -> None:
    # A combined examination: the effusion is the knee's; the chest has none.
    store = open_store(tmp_path / "k.db")
    texts = {
        "K1": "FINDINGS: CHEST: Lungs are clear. RIGHT KNEE: Small effusion.",
        "K2": "FINDINGS: Small left pleural effusion.",
    }
    ingest_records(store, [make_record(rid=k, text=v) for k, v in texts.items()], jobs=1)
    got = search(store, "effusion", limit=20, semantic=False).hits
    assert [h.report.id for h in got] == ["K2"]
    assert not any(h.words_only for h in got)
    store.close()


# A place the query names, for a mention the reader placed nowhere: the places its own
# sentence writes ("Left lower lobe opacity ...; atelectasis or pneumonia": the reader
# read the pneumonia, not its lobe, as the semicolon opens another clause) place it at
# the place asked (P7), with the reader's places (P3, P4, P5, P6: without the semicolon
# the pneumonia is offered for the opacity, at its place); a place the sentence writes
# elsewhere (P7 for the upper lobe) does not rank it after those placed nowhere (P2): it
# may be another finding's.
UNPLACED = {
    "P1": "FINDINGS: Right middle lobe infiltrate consistent with pneumonia.\nIMPRESSION: Pneumonia.",
    "P2": "FINDINGS: Pneumonia. Heart size normal.",
    "P3": "FINDINGS: Left lower lobe opacity of uncertain cause, atelectasis or pneumonia.",
    "P4": "FINDINGS: Right lower lobe pneumonia.",
    "P5": "FINDINGS: Consolidation in the left upper lobe, consistent with pneumonia.",
    "P6": "FINDINGS: Patchy opacity at the left base, likely pneumonia.",
    "P7": "FINDINGS: Left lower lobe opacity of uncertain cause; atelectasis or pneumonia.",
}


# A place written inside the finding's own words ("mediastinal" of "calcified mediastinal
# lymph nodes", one synonym of the reader's vocabulary, so no free word is left) is a
# constraint as a free word's place is: the mentions at it first, then those placed
# nowhere, then those placed only elsewhere (whatever their stored scores: M1 and A1 say
# theirs twice, and M1 writes the node, redacted in M2 and M4 as OpenI does). A place the
# finding is named for (the rib of "rib fracture") is no constraint: every mention of it
# is there.
TERM_PLACES = {
    "M1": "FINDINGS: Calcified right hilar lymph node.\nIMPRESSION: Calcified right hilar lymph node.",
    "M2": "FINDINGS: Calcified mediastinal lymph XXXX.",
    "M3": "FINDINGS: Calcified lymph nodes are present. Heart size normal.",
    "M4": "FINDINGS: There are calcified lymph XXXX in the mediastinum, unchanged.",
    "A1": "FINDINGS: Left basilar scarring.\nIMPRESSION: Left basilar scarring.",
    "A2": "FINDINGS: Scarring at the right apex.",
    "A3": "FINDINGS: Stable apical scarring.",
    "A4": "FINDINGS: Scarring. Heart size normal.",
    # The hilum asked is answered by the reader's places just above and below it (X1, X2),
    # before an opacity placed nowhere (X4) or only elsewhere (X3, said twice).
    "X1": "FINDINGS: Vague opacity in the right infrahilar region.",
    "X2": "FINDINGS: Right suprahilar opacity, stable.",
    "X3": "FINDINGS: Retrocardiac opacity.\nIMPRESSION: Retrocardiac opacity, unchanged.",
    "X4": "FINDINGS: Opacity is seen. Heart size normal.",
}


@pytest.fixture(scope="module")
def places(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("places", {**UNPLACED, **TERM_PLACES})


@pytest.mark.parametrize(
    ("query", "ranks"),
    [
        ("lower lobe pneumonia", [{"P4"}, {"P3", "P6", "P7"}, {"P1", "P2"}, {"P5"}]),
        ("left lower lobe pneumonia", [{"P3", "P6"}, {"P5"}]),
        ("upper lobe pneumonia", [{"P5"}, {"P1", "P2", "P7"}, {"P3", "P4", "P6"}]),
        ("calcified mediastinal lymph nodes", [{"M2", "M4"}, {"M3"}, {"M1"}]),
        ("mediastinal calcified lymph nodes", [{"M2", "M4"}, {"M3"}, {"M1"}]),
        ("apical scarring", [{"A2", "A3"}, {"A4"}, {"A1"}]),
    ],
)
def test_a_place_asked_ranks_the_mentions_at_it_first(
    places: ArchiveStore, query: str, ranks: list[set[str]]
) -> None:
    """The sentence's places for a mention placed nowhere (UNPLACED); a place inside the
    finding's own words (TERM_PLACES). Every report with a mention is returned."""
    got = ids(places, query)
    assert len(got) == sum(map(len, ranks))
    for group in ranks:
        assert set(got[: len(group)]) == group, got
        got = got[len(group) :]


def test_the_hilum_is_answered_just_above_and_below_it(places: ArchiveStore) -> None:
    got = ids(places, "hilar opacity")
    assert set(got[:2]) == {"X1", "X2"} and got.index("X4") < got.index("X3")

"""The sides a report writes: "bibasilar", "biapical", "bibasal" are each side's base or
apex (``query_words.json`` ``each_side_words``), stored with the mention at ingest
(``analysis.written_sides``) and used by sided queries, on both backends; an archive
written before the sides were stored is upgraded from its own rows and then answers as
a new one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from radpilot.interop.records import make_record
from radpilot.search.analysis import read_and_analyse, sides_field, tags_of
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.store import ArchiveStore, is_database_url, open_store

REPORTS = {
    "S1": "FINDINGS: Bibasilar atelectasis.",
    "S2": "FINDINGS: Left basilar atelectasis.",
    "S3": "FINDINGS: Right basilar atelectasis.",
    "S4": "FINDINGS: Biapical pleural thickening.",
    "S5": "FINDINGS: Bilateral pleural effusions. Bibasilar atelectasis.",
    "S6": "FINDINGS: Small left pleural effusion.",
    "S7": "FINDINGS: Atelectasis in both lung bases.",
    # A side the reader could not give (``test_a_sided_query_fills_...``): the reader's
    # right blunting, a redacted right one only words find, a redacted left one, a
    # negated right one, the reader's left one, one query word beside the side.
    "C1": "FINDINGS: Right costophrenic angle blunting. Heart size normal.",
    "C2": "FINDINGS: Heart size normal. Blunting of the right costophrenic XXXX.",
    "C3": "FINDINGS: Heart size normal. Blunting of the left costophrenic XXXX.",
    "C4": "FINDINGS: Heart size normal. No blunting of the right costophrenic XXXX.",
    "C5": "FINDINGS: Left costophrenic angle blunting. Heart size normal.",
    "C6": "FINDINGS: Right lung is clear. Degenerative blunting of the acromion.",
    # The side in another sentence than the words (C7, C8) is another finding's; the words
    # beside the side in a sentence whose only finding the reader read is negated (C9, C10)
    # are stated all the same.
    "C7": "FINDINGS: Right hilar granulomas. Chronic blunting of the left costophrenic XXXX.",
    "C8": "FINDINGS: Blunting of the costophrenic XXXX. The right lung is clear.",
    "C9": "FINDINGS: Mild blunting of the right costophrenic XXXX, without pleural effusion.",
    "C10": "FINDINGS: Blunting of the right costophrenic XXXX with no effusion.",
    # The words in another form ("calcified" for "calcification") fill too (K2), not
    # on the other side (K3).
    "K1": "FINDINGS: Right hilar calcification.",
    "K2": "FINDINGS: Calcified right hilar lymph XXXX. Heart size normal.",
    "K3": "FINDINGS: Calcified left hilar lymph XXXX. The right lung is clear.",
    # A side the reader gave no mention, written after the finding in its sentence (R1);
    # one the reader gave another finding of the sentence is that one's (R2).
    "R1": "FINDINGS: Several old rib fractures are seen on the left. Heart size normal.",
    "R2": "FINDINGS: Healed rib fractures and a left chest tube.",
    # Two of the words beside the side, but only the place's: no nodule named (L4).
    "L3": "FINDINGS: Left lower lobe nodule.",
    "L4": "FINDINGS: Consolidation in the left lower lobe. Heart size normal.",
    # Elevated hemidiaphragm written as a predicate: the reader's words hold the side.
    "H1": "FINDINGS: Elevation of the left hemidiaphragm.",
    "H2": "FINDINGS: Lungs are clear. The left hemidiaphragm is mildly elevated.",
    "H3": "FINDINGS: Lungs are clear. The right hemidiaphragm is elevated.",
    "H4": "FINDINGS: Elevated hemidiaphragm. The left lung is clear.",
    "H5": "FINDINGS: The left hemidiaphragm is not elevated.",
    # A bilateral finding answers a one-sided query (it is on that side too), after the
    # matches written on that side and before the side-less fills: written "bilateral"
    # (B3), "bilaterally" (B4), "both pleural spaces" (B8), hedged (B5, after the certain
    # ones as any hedge), blunting of both angles (B6, B9); never negated (B7).
    "B3": "FINDINGS: Small bilateral pleural effusions. Heart size normal.",
    "B4": "FINDINGS: Small pleural effusions bilaterally.",
    "B5": "FINDINGS: Possible small bilateral pleural effusions.",
    "B6": "FINDINGS: Bilateral costophrenic angle blunting. Heart size normal.",
    "B7": "FINDINGS: No bilateral pleural effusions.",
    "B8": "FINDINGS: Moderate effusions in both pleural spaces.",
    "B9": "FINDINGS: Both costophrenic angles are blunted.",
    # The same, redacted so the reader reads nothing: the words with a bilateral word fill a
    # one-sided query after those with the side written ("bilateral", "both", "bilaterally"),
    # never negated (B13) nor a bilateral word in another sentence (B14).
    "B10": "FINDINGS: Bilateral costophrenic XXXX blunting are present. Heart size normal.",
    "B11": "FINDINGS: Heart is large. Both costophrenic XXXX are blunted.",
    "B12": "FINDINGS: Blunting of the costophrenic XXXX bilaterally.",
    "B13": "FINDINGS: No bilateral costophrenic XXXX blunting.",
    "B14": "FINDINGS: Bilateral hilar fullness. Blunting of the costophrenic XXXX.",
    # A side carried inside a word of the query ("biapical") is written where that word
    # is, and the side's other words ("both") write it too: the words fill a sided query
    # where the reader read another finding (D1: pleural scarring, no scarring) or
    # nothing (B11 for a bilateral query); one word of two is not enough (D2).
    "D1": "FINDINGS: Stable biapical pleural scarring. Heart size normal.",
    "D2": "FINDINGS: Bibasilar pleural scarring.",
    # The organ a finding is named for ("hemidiaphragm" of an elevated hemidiaphragm) is no
    # place to rank by: the query's word for the finding ("eventration") decides (V1 first).
    "V1": "FINDINGS: Eventration of the right hemidiaphragm. Heart size normal.",
    "V2": "FINDINGS: Elevated right hemidiaphragm.\nIMPRESSION: Elevated right hemidiaphragm.",
    "V3": "FINDINGS: Elevation of the right hemidiaphragm.",
    # A side-less mention whose sentence writes the side in another of the reader's words
    # for it ("both", not "bilateral"): on both sides (I1, T1), after the reader's
    # bilateral match (I2); "both" in another sentence is no side of it (I3). A negated
    # mention of the finding's parent (a generic "airspace opacity") does not judge the
    # subtype the reader read present (I4).
    "I1": "FINDINGS: Interstitial opacities are persistent at both lung bases.",
    "I2": "FINDINGS: Bilateral interstitial opacities. Heart size normal.",
    "I3": "FINDINGS: Interstitial opacities. Both hila are normal.",
    "T1": "FINDINGS: Pleural thickening, which is stable, at both apices.",
    "I4": "FINDINGS: Interstitial opacities are again persistent at both bases. "
    "No focal airspace opacity.",
}
QUERIES = {
    "left basilar atelectasis": ["S2", "S1", "S5", "S7"],
    "right basilar atelectasis": ["S3", "S1", "S5", "S7"],
    "bibasilar atelectasis": ["S1", "S5", "S7"],
    "left apical pleural thickening": ["S4"],
    # A bilateral effusion is a left one too (after it); a one-sided one is no bilateral.
    "left pleural effusion": ["S6", "S5", "B3", "B4", "B5", "B8"],
    "bilateral pleural effusion": ["S5", "B3", "B4", "B5", "B8"],
    # The reader's sided match first, then the side-less mentions whose words write the
    # side, then the words (both, and the side, written): never a negated, another
    # side's, or a side written elsewhere in the report (H4).
    "right costophrenic angle blunting": [
        *("C1", "B6", "B9", "C2", "C9", "C10"),
        *("B10", "B11", "B12"),
    ],
    "left costophrenic angle blunting": ["C5", "B6", "B9", "C3", "C7", "B10", "B11", "B12"],
    "right hilar calcification": ["K1", "K2"],
    "biapical scarring": ["D1"],
    "bilateral costophrenic angle blunting": ["B6", "B9", "B10", "B11", "B12"],
    "left rib fracture": ["R1"],
    "left lower lobe nodule": ["L3"],
    "elevated left hemidiaphragm": ["H1", "H2"],
    "elevated right hemidiaphragm": ["H3", "V1", "V2", "V3"],
    "bilateral interstitial opacities": ["I2", "I1", "I4"],
    "bilateral pleural thickening": ["S4", "T1"],
}


def ids(store: ArchiveStore, query: str) -> list[str]:
    return [h.report.id for h in search(store, query, limit=20, semantic=False).hits]


@pytest.fixture(scope="module")
def archive(new_archive: Callable[[str], str]) -> Iterator[ArchiveStore]:
    store = open_store(new_archive("sides"))
    ingest_records(store, [make_record(rid=k, text=v) for k, v in REPORTS.items()], jobs=1)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("query", "first", "then"),
    [
        # The side written first, the bilateral ones after (certain, then the hedged B5),
        # the fills last.
        ("left pleural effusion", ["S6"], ["S5", "B3", "B4", "B5", "B8"]),
        ("right pleural effusion", [], ["S5", "B3", "B4", "B5", "B8"]),
        ("right costophrenic angle blunting", ["C1"], ["B6", "B9"]),
        ("left costophrenic angle blunting", ["C5"], ["B6", "B9"]),
    ],
)
def test_a_bilateral_finding_ranks_after_the_side_written(
    archive: ArchiveStore, query: str, first: list[str], then: list[str]
) -> None:
    got = ids(archive, query)
    n, m = len(first), len(then)
    assert sorted(got[:n]) == sorted(first)
    assert sorted(got[n : n + m]) == sorted(then)
    if "B5" in then:
        assert got[n + m - 1] == "B5"  # hedged after certain, within the bilateral ones
    hits = search(archive, query, semantic=False).hits
    for h in hits[n : n + m]:
        assert not h.words_only and h.mentions  # shown as the reader's finding
        assert all("bilateral" in mt.sides for mt in h.mentions)


@pytest.mark.parametrize(("query", "expected"), list(QUERIES.items()))
def test_a_sided_query_uses_the_sides_written(
    archive: ArchiveStore, query: str, expected: list[str]
) -> None:
    got = ids(archive, query)
    assert sorted(got) == sorted(expected)
    if query.startswith(("left", "right")):
        assert got[0] == expected[0]  # the side written as asked first


@pytest.mark.parametrize(
    "query", ["right hemidiaphragm eventration", "eventration of the right hemidiaphragm"]
)
def test_the_organ_a_finding_is_named_for_is_no_place(archive: ArchiveStore, query: str) -> None:
    got = ids(archive, query)
    assert got[0] == "V1" and {"V2", "V3"} <= set(got)


def test_a_sided_query_fills_from_what_the_reader_could_not_side(archive: ArchiveStore) -> None:
    """After every reader match: H2's mention is the reader's, with no side; C2 only the
    words find (redacted). Neither is shown as a finding on that side; a page the reader
    fills takes nothing from them, and "+" asks for the reader's judgement."""
    got = search(archive, "right costophrenic angle blunting", semantic=False).hits
    assert [h.words_only for h in got] == [False] * 3 + [True] * 6
    # The side written before a bilateral word (B10-B12: a bilateral finding is on the
    # right too, as the reader's bilateral matches rank after its right ones).
    assert sorted(h.report.id for h in got[3:6]) == ["C10", "C2", "C9"]
    assert sorted(h.report.id for h in got[6:]) == ["B10", "B11", "B12"]
    one = search(archive, "right costophrenic angle blunting", limit=1, semantic=False).hits
    assert [h.report.id for h in one] == ["C1"]
    plus = ids(archive, '+"costophrenic blunting" right')  # the reader's, bilateral after
    assert plus[0] == "C1" and sorted(plus[1:]) == ["B6", "B9"]


def test_the_written_sides_are_stored_and_tagged() -> None:
    an = read_and_analyse(REPORTS["S5"])
    sides = {m[0]: m[13] for m in an.mentions}
    assert sides["atelectasis"] == "|bilateral|left|right|"
    assert sides["pleural_effusion"] == "|bilateral|"
    assert "atelectasis__present__left" in an.tags.split()
    assert "pleural_effusion__present__left" not in an.tags.split()


def _as_before_sides(location: str) -> None:
    """Make an archive look as one written before the sides were stored."""
    if is_database_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            db.execute("ALTER TABLE archive.mentions DROP COLUMN sides")
            db.execute("UPDATE archive.alembic_version SET version_num = '0003_studies_v1'")
        return
    db = sqlite3.connect(location, isolation_level=None)
    try:
        old = {}
        for (rid,) in db.execute("SELECT rowid FROM reports").fetchall():
            findings = db.execute(
                "SELECT finding, status, score FROM report_findings WHERE report_rowid = ?", (rid,)
            ).fetchall()
            ments = db.execute(
                "SELECT finding, status, laterality, change FROM mentions WHERE report_rowid = ?",
                (rid,),
            ).fetchall()
            # schema 1's tags: the reader's side only
            old[rid] = tags_of(
                findings, [(f, s, sides_field([lat] if lat else []), c) for f, s, lat, c in ments]
            )
        db.execute("BEGIN")
        db.executemany(
            "UPDATE reports SET tags = ? WHERE rowid = ?", [(t, r) for r, t in old.items()]
        )
        db.execute("INSERT INTO finding_tags(finding_tags) VALUES ('rebuild')")
        db.execute("ALTER TABLE mentions DROP COLUMN sides")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
        db.execute("COMMIT")
    finally:
        db.close()
    Path(location + "-verified").unlink(missing_ok=True)


def test_an_archive_from_before_is_upgraded_from_its_rows(
    new_archive: Callable[[str], str], archive: ArchiveStore, cli: Any
) -> None:
    location = new_archive("sides_upgrade")
    store = open_store(location)
    ingest_records(store, [make_record(rid=k, text=v) for k, v in REPORTS.items()], jobs=1)
    store.close()
    _as_before_sides(location)
    if not is_database_url(location):
        with pytest.raises(Exception, match="archive schema 1, this radpilot reads 2; upgrade"):
            open_store(location, readonly=True)
    code, out, _ = cli("archive", "migrate", "--db", location)
    assert code == 0
    upgraded = open_store(location, readonly=True)
    try:
        for query in QUERIES:
            assert ids(upgraded, query) == ids(archive, query), query
        assert upgraded.mentions([1])[1][0].sides == ("bilateral", "left", "right")
    finally:
        upgraded.close()
    if not is_database_url(location):
        assert "1 -> 2" in out
        code, out, _ = cli("archive", "migrate", "--db", location)
        assert code == 0 and "up to date" in out


def test_a_side_that_names_a_place_is_a_place_word_too() -> None:
    from radpilot.search.query import parse_query

    q = parse_query("bibasilar atelectasis")
    assert q.findings[0].laterality is not None and q.findings[0].laterality.value == "bilateral"
    assert q.words == ("bibasilar",)
    assert parse_query(q.to_string()) == q
    assert parse_query("bilateral atelectasis").words == ()
    assert parse_query("bibasilar").words == ("bibasilar",)


def test_the_place_of_a_side_word_ranks_first(new_archive: Callable[[str], str]) -> None:
    # "bilateral" names no place; "bibasilar" asks for the bases too.
    texts = {
        "B1": "FINDINGS: Scattered bilateral subsegmental atelectasis.\n"
        "IMPRESSION: Bilateral subsegmental atelectasis.",
        "B2": "FINDINGS: Subsegmental atelectasis in the lung bases bilaterally.",
    }
    store = open_store(new_archive("sideplace"))
    ingest_records(store, [make_record(rid=k, text=v) for k, v in texts.items()], jobs=1)
    try:
        assert ids(store, "bibasilar atelectasis") == ["B2", "B1"]
    finally:
        store.close()

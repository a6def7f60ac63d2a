"""``--vocab FILE`` on ``archive add`` and ``search``: the file ``label --vocab`` takes, its
findings stored and found, and an archive read with one vocabulary never silently
searched or extended with another. Through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from radpilot import samples
from radpilot.reports.uservocab import extended_vocabulary
from radpilot.search.archivevocab import META_KEY, mismatch_note, stored
from radpilot.search.engine import search
from radpilot.search.store import open_store

if TYPE_CHECKING:
    from tests.search.conftest import CliRun

TOUR = Path(__file__).parent / "data" / "tour"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("clinic.csv", "reports.csv"):
        shutil.copy(TOUR / name, tmp_path / name)
    for name in ("my_findings.yaml", "bad_vocab.yaml"):  # the samples of `label --vocab`
        shutil.copy(samples.get(name), tmp_path / name)
    return tmp_path


def _ids(stdout: str) -> list[str]:
    return [h["id"] for h in json.loads(stdout)]


def test_add_and_search_with_the_same_file(folder: Path, cli: CliRun) -> None:
    db, vocab = str(folder / "v.db"), str(folder / "my_findings.yaml")
    code, out, err = cli("archive", "add", str(folder / "clinic.csv"), "--vocab", vocab, "--db", db)
    assert code == 0, err
    assert out.startswith("added 3, updated 0, unchanged 0, errors 0")
    code, out, err = cli(
        "search", "sarcoid", "--vocab", vocab, "--db", db, "--json", "--no-semantic"
    )
    assert code == 0, err
    hits = json.loads(out)
    # S1 states it, S3 hedges it (ranked below), S2 negates it: never returned.
    assert [h["id"] for h in hits] == ["S1", "S3"] and hits[1]["uncertain"]
    assert {f["finding"] for h in hits for f in h["findings"]} == {"sarcoidosis"}
    assert err == ""  # the same vocabulary: nothing to say
    # The archive stored the user's finding and records the file it was read with.
    store = open_store(db, readonly=True)
    try:
        s1 = store.get("S1")
        assert s1 is not None
        assert "sarcoidosis" in store.present_findings([s1.rowid])[s1.rowid]
        assert stored(store).files == (vocab,)
    finally:
        store.close()


def test_search_without_the_archives_vocabulary_says_so_in_one_line(
    folder: Path, cli: CliRun
) -> None:
    db, vocab = str(folder / "v.db"), str(folder / "my_findings.yaml")
    assert cli("archive", "add", str(folder / "clinic.csv"), "--vocab", vocab, "--db", db)[0] == 0
    code, out, err = cli("search", "sarcoid", "--db", db, "--json", "--no-semantic")
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: the archive was read with --vocab ")
    assert "my_findings.yaml" in lines[0] and "the packaged vocabulary" in lines[0]
    # Without the file "sarcoid" is a free word: the stated hedge only, no finding.
    assert _ids(out) == ["S3"]
    # cohort takes the same file and says the same.
    csv_out = folder / "c.csv"
    code, out, err = cli("cohort", "sarcoid", "--vocab", vocab, "--db", db, "-o", str(csv_out))
    assert code == 0 and out.startswith("2 reports (1 uncertain)") and err == ""
    code, out, err = cli("cohort", "sarcoid", "--db", db, "-o", str(csv_out))
    assert code == 0 and err.startswith("note: the archive was read with --vocab ")


def test_add_with_another_vocabulary_is_refused_before_writing(folder: Path, cli: CliRun) -> None:
    db, vocab = str(folder / "v.db"), str(folder / "my_findings.yaml")
    assert cli("archive", "add", str(folder / "clinic.csv"), "--vocab", vocab, "--db", db)[0] == 0
    code, out, err = cli("archive", "add", str(folder / "reports.csv"), "--db", db)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "its reports were read with --vocab" in err
    assert "nothing was written" in err
    # ... and the other way round: a packaged archive refuses a vocabulary file.
    plain = str(folder / "plain.db")
    assert cli("archive", "add", str(folder / "reports.csv"), "--db", plain)[0] in (0, 1)
    code, _, err = cli(
        "archive", "add", str(folder / "clinic.csv"), "--vocab", vocab, "--db", plain
    )
    assert code == 2 and "read with the packaged vocabulary" in err
    store = open_store(plain, readonly=True)
    try:
        assert store.get("S1") is None  # nothing of the refused add was stored
    finally:
        store.close()
    # Re-adding with the same file is fine (unchanged).
    code, out, _ = cli("archive", "add", str(folder / "clinic.csv"), "--vocab", vocab, "--db", db)
    assert code == 0 and "unchanged 3" in out


def test_a_bad_vocabulary_file_is_one_line_per_entry(folder: Path, cli: CliRun) -> None:
    db = str(folder / "v.db")
    for argv in (
        (
            "archive",
            "add",
            str(folder / "clinic.csv"),
            "--vocab",
            str(folder / "bad_vocab.yaml"),
            "--db",
            db,
        ),
        ("search", "sarcoid", "--vocab", str(folder / "bad_vocab.yaml"), "--db", db),
    ):
        code, out, err = cli(*argv)
        assert code == 2 and out == "" and "Traceback" not in err
    code, _, err = cli(
        "archive",
        "add",
        str(folder / "clinic.csv"),
        "--vocab",
        str(folder / "bad_vocab.yaml"),
        "--db",
        db,
    )
    assert "findings[0] (id 'granuloma'): chexpert: 'Lung Lesionn'" in err
    assert not Path(db).exists()  # refused before the archive was created


def test_python_api_and_record(folder: Path) -> None:
    """``ingest_records(..., vocabulary=)`` and ``search(..., vocabulary=)``; an archive
    that predates the record (no meta key) counts as read with the packaged vocabulary."""
    from radpilot.interop.records import make_record
    from radpilot.search.ingest import ingest_records

    vocab = extended_vocabulary(folder / "my_findings.yaml")
    store = open_store(folder / "api.db")
    try:
        recs = [make_record(rid="X1", text="IMPRESSION: Pulmonary sarcoidosis.")]
        ingest_records(store, recs, jobs=1, vocabulary=vocab)
        got = search(store, "pulmonary sarcoidosis", semantic=False, vocabulary=vocab)
        assert [h.report.id for h in got.hits] == ["X1"]
        assert store.meta(META_KEY) is None and stored(store).digest == "packaged"
        assert mismatch_note(store, vocab) is not None and mismatch_note(store, None) is None
    finally:
        store.close()

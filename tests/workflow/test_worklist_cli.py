"""`radpilot worklist`, `worklist add`, `worklist mark` through the real entry point, on a
real SQLite file, with the bundled DICOM sample and hand-written analysis files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from radpilot import samples
from radpilot.commands.main import run

CliRun = Callable[..., tuple[int, str, str]]
NOW = "2026-12-02T10:00:00Z"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        got = capsys.readouterr()
        return code, got.out, got.err

    return invoke


def _analysis(path: Path, uid: str, p_ptx: float, positive: bool, tier: str) -> Path:
    data: list[dict[str, Any]] = [
        {
            "path": f"{uid}.dcm",
            "findings": [{"name": "Pneumothorax", "probability": p_ptx, "positive": positive}],
            "urgency": {"tier": tier, "score": p_ptx, "reasons": []},
            "metadata": {"study_uid": uid, "patient_id": "PX", "modality": "DX"},
        }
    ]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_add_rank_mark(tmp_path: Path, cli: CliRun) -> None:
    db = str(tmp_path / "w.db")
    routine = _analysis(tmp_path / "r.json", "1.5.1", 0.1, False, "routine")
    ptx = _analysis(tmp_path / "p.json", "1.5.2", 0.95, True, "urgent")
    code, out, err = cli(
        "worklist", "add", str(routine), "--db", db, "--received", "2026-12-02T08:00:00Z"
    )
    assert (code, err) == (0, "") and "studies added 1, updated 0" in out
    code, out, _ = cli(
        "worklist", "add", str(ptx), "--db", db, "--received", "2026-12-02T09:30:00Z"
    )
    other = _analysis(tmp_path / "o.json", "1.5.3", 0.9, False, "urgent")
    cli("worklist", "add", str(other), "--db", db, "--received", "2026-12-02T09:45:00Z")
    code, out, _ = cli("worklist", "add", str(routine), "--db", db)  # re-sent: no duplicate
    assert code == 0 and "added 0, updated 1" in out
    code, out, _ = cli("worklist", "--db", db, "--json", "--now", NOW)
    entries = json.loads(out)
    assert [e["study_uid"] for e in entries] == ["1.5.2", "1.5.3", "1.5.1"]
    assert entries[0]["reasons"][0] == "critical finding: pneumothorax (p=0.95)"
    assert entries[2]["wait_minutes"] == 120.0  # counted from the first arrival
    # past the ageing cap the routine study comes before the urgent one (not the critical)
    code, out, _ = cli("worklist", "--db", db, "--json", "--now", "2026-12-02T12:00:00Z")
    entries = json.loads(out)
    assert [e["study_uid"] for e in entries] == ["1.5.2", "1.5.1", "1.5.3"]
    assert entries[1]["overdue"] and entries[1]["reasons"][0].startswith("overdue: waiting 240")
    assert cli("worklist", "mark", "1.5.2", "read", "--db", db)[:2] == (0, "1.5.2: read\n")
    code, out, _ = cli("worklist", "--db", db, "--now", NOW)
    assert code == 0 and "2 unread" in out and "1.5.1" in out and "1.5.2" not in out
    code, _, err = cli("worklist", "mark", "1.5.2", "received", "--db", db)
    assert code == 2 and err == "error: status 'received': mark takes read or signed\n"
    code, _, err = cli("worklist", "mark", "1.5.2", "done", "--db", db)
    assert code == 2 and err.startswith("error: status 'done' is not one of received")


def test_add_dicom_and_bad_files(tmp_path: Path, cli: CliRun) -> None:
    db = str(tmp_path / "w.db")
    dcm = str(samples.get("siim_monochrome2.dcm"))
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    code, out, err = cli(
        "worklist", "add", dcm, str(bad), str(samples.get("nih_normal.png")), "--db", db
    )
    assert code == 1 and "studies added 1" in out and "files skipped 2" in out
    lines = err.splitlines()
    assert lines[0] == f"skipped: {bad}: not JSON (line 1, column 3)"
    assert lines[1].endswith(
        "nih_normal.png: a PNG image carries no study UID; add its DICOM, or the `radpilot analyze --json` result of the DICOM"
    )
    code, out, _ = cli("worklist", "--db", db, "--json", "--now", NOW)
    (entry,) = json.loads(out)
    assert entry["tier"] == "unanalysed" and entry["modality"] == "CR"
    code, _, err = cli("worklist", "add", str(bad), "--db", db)
    assert code == 2
    code, _, err = cli("worklist", "--db", str(tmp_path), "--now", NOW)
    assert code == 2 and err.count("\n") == 1 and "is a folder" in err
    code, _, err = cli("worklist", "--db", db, "--now", "noon")
    assert code == 2 and err == "error: --now: 'noon' is not an ISO date-time\n"
    cut = tmp_path / "cut.dcm"  # a header cut off before the study UID
    cut.write_bytes(samples.get("siim_monochrome2.dcm").read_bytes()[:400])
    code, _, err = cli("worklist", "add", str(cut), "--db", db)
    assert (code, err) == (
        2,
        f"skipped: {cut}: no StudyInstanceUID in the header; cannot place the study\n",
    )
    missing = tmp_path / "missing.db"
    code, _, err = cli("worklist", "--db", str(missing))
    assert code == 2 and "no archive here (put studies on it" in err and not missing.exists()
    code, _, err = cli("worklist", "mark", "9.9.9", "read", "--db", db)
    assert code == 2 and "no study 9.9.9" in err


def test_add_with_analysis_runs_the_model(tmp_path: Path, cli: CliRun) -> None:
    db = str(tmp_path / "w.db")
    code, out, err = cli(
        "worklist", "add", str(samples.get("siim_monochrome2.dcm")), "--analyse", "--db", db
    )
    assert code == 0, err
    code, out, _ = cli("worklist", "--db", db, "--json", "--now", NOW)
    (entry,) = json.loads(out)
    assert entry["status"] == "analysed" and entry["tier"] in ("routine", "urgent")


def test_mixed_batch_adds_the_studies_and_names_the_rest(tmp_path: Path, cli: CliRun) -> None:
    db = str(tmp_path / "w.db")
    good = json.loads(_analysis(tmp_path / "g.json", "1.6.1", 0.2, False, "routine").read_text())
    png = {"path": "x.png", "findings": [], "metadata": {"format": "png", "study_uid": None}}
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([png, *good]), encoding="utf-8")
    code, out, err = cli("worklist", "add", str(mixed), "--db", db)
    assert code == 1 and "studies added 1" in out and "files skipped 0" in out
    assert err == (
        f"warning: {mixed}: image [0]: metadata.study_uid: missing (a PNG or JPEG carries "
        "no study); left out\n"
    )

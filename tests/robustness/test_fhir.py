"""FHIR input (Bundle JSON and NDJSON): generated DiagnosticReports, other resource types,
invalid reports, any JSON, deep nesting, mutated bytes. Never a traceback; every resource
a record or an error naming its position; no report text or identifier in any message."""

from __future__ import annotations

import base64
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
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def resource(draw: st.DrawFn) -> tuple[str, Any]:
    """(kind, resource): 'report' (stored), 'bad' (an invalid or empty DiagnosticReport),
    'other' (another resource type), 'junk' (not a resource)."""
    kind = draw(st.sampled_from(["report", "report", "bad", "other", "junk"]))
    rid, pid, text = draw(identifier), draw(identifier), draw(report_text())
    dr: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "code": {"text": "XR chest"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2024-04-05T08:00:00Z",
    }
    if draw(st.booleans()):
        data = base64.b64encode(text.encode()).decode()
        dr["presentedForm"] = [{"contentType": "text/plain", "data": data}]
    else:
        dr["conclusion"] = text
    if kind == "bad":
        spoil = draw(st.sampled_from(["subject", "nocode", "notext", "base64", "date"]))
        if spoil == "subject":
            dr["subject"] = draw(st.integers())
        elif spoil == "nocode":
            dr.pop("code")
        elif spoil == "notext":
            dr.pop("presentedForm", None)
            dr.pop("conclusion", None)
        elif spoil == "base64":
            dr["presentedForm"] = [{"contentType": "text/plain", "data": "%%" + text[:5]}]
        else:
            dr["effectiveDateTime"] = f"{text[:6]}-2024"
        return kind, dr
    if kind == "other":
        return kind, {"resourceType": draw(st.sampled_from(["Patient", "Observation"])), "id": pid}
    if kind == "junk":
        value = draw(json_values)
        return kind, value if not (isinstance(value, dict) and "resourceType" in value) else []
    return kind, dr


def _secrets(content: str) -> set[str]:
    words = content.replace('"', " ").replace("/", " ").split()
    return {w.strip(".,") for w in words if "zq" in w.lower()}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resource(), min_size=1, max_size=6), st.booleans())
def test_every_resource_is_accounted_for(res: list[tuple[str, Any]], as_bundle: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if as_bundle:
            p = Path(tmp) / "b.json"
            entries = [{"resource": r} for _, r in res]
            p.write_text(
                json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
            )
        else:
            p = Path(tmp) / "r.ndjson"
            p.write_text("".join(json.dumps(r) + "\n" for _, r in res))
        items = read_all(p)
        recs, errs = split(items)
        assert len(recs) == sum(kind == "report" for kind, _ in res)
        assert len(errs) == len(res) - len(recs)  # every other resource is an error line
        where = "entry {}" if as_bundle else "line {}"
        first = 0 if as_bundle else 1
        bad = [where.format(n) for n, (kind, _) in enumerate(res, first) if kind != "report"]
        assert [e.position for e in errs] == bad
        assert_one_line_each(items)
        assert_no_leak((str(e) for e in errs), _secrets(p.read_text()))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resource(), min_size=1, max_size=5))
def test_archive_add_of_generated_ndjson(res: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.ndjson"
        p.write_text("".join(json.dumps(r) + "\n" for _, r in res))
        assert_clean_run([p], read_all(p), _secrets(p.read_text()))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resource(), min_size=1, max_size=4), st.integers(1000, 50_000))
def test_deep_nesting_is_one_error_and_the_rest_is_read(
    res: list[tuple[str, Any]], depth: int
) -> None:
    deep = (
        '{"resourceType": "DiagnosticReport", "id": "Zqd", "x": ' + "[" * depth + "]" * depth + "}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.ndjson"
        p.write_text(deep + "\n" + "".join(json.dumps(r) + "\n" for _, r in res))
        recs, errs = split(read_all(p))
        assert len(recs) == sum(kind == "report" for kind, _ in res)
        # One error for that record, whether the nesting is too deep to read at all or
        # read and then refused by the DiagnosticReport model (an unknown field).
        assert len(errs) == len(res) - len(recs) + 1 and errs[0].position == "line 1"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_fhir_never_breaks_the_reader(data: st.DataObject) -> None:
    res = data.draw(st.lists(resource(), min_size=1, max_size=5))
    name = data.draw(st.sampled_from(["r.ndjson", "b.json"]))
    body = (
        "".join(json.dumps(r) + "\n" for _, r in res)
        if name.endswith("ndjson")
        else json.dumps({"resourceType": "Bundle", "entry": [{"resource": r} for _, r in res]})
    )
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_bytes(data.draw(mutated(body.encode())))
        items = read_all(p)
        assert_one_line_each(items)
        _, errs = split(items)
        assert_no_leak((str(e) for e in errs), _secrets(body))

"""`radpilot label` on generated and mutated JSON Lines: every line is one row out (an
error row naming its line when it cannot be read), no traceback, no report text on stderr,
the exit code per --help."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_cli import MARKER, check_batch, label

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.lists(
    st.sampled_from([MARKER, "effusion", "no", "pneumothorax", ",", ".", "\n", "é", '"', "\\"]),
    min_size=1,
    max_size=20,
).map(" ".join)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON = st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3)
)
KEYS = st.sampled_from(["text", "report", "Report", "body", "id", "accession", MARKER])
OBJECTS = st.dictionaries(KEYS, st.one_of(TEXT, JSON), max_size=4)


def deep(depth: int, kind: str) -> str:
    inner = "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth
    return json.dumps({"id": "x", "text": MARKER})[:-1] + ', "deep": ' + inner + "}"


LINES = st.one_of(
    OBJECTS.map(lambda o: json.dumps(o, ensure_ascii=False)),
    OBJECTS.map(json.dumps),
    JSON.map(json.dumps),  # arrays, strings, numbers: not objects
    st.builds(deep, st.integers(1, 3_000), st.sampled_from(["array", "object"])),
    st.text(max_size=30),  # not JSON at all
    st.just(""),  # a blank line
    st.just('{"text": "' + MARKER + " " * 3 + '"'),  # cut off
)


@SETTINGS
@given(st.lists(LINES, min_size=1, max_size=20))
def test_every_line_is_one_row(lines: list[str]) -> None:
    lines = [x.replace("\n", " ").replace("\r", " ") for x in lines]  # one line each
    data = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    result = label({"in.jsonl": data}, "in.jsonl", "--input-format", "jsonl")
    check_batch(result, rows_in=len(lines))
    if not result.wrote:
        assert not "".join(lines).strip("\ufeff\x00 \t\r\n")  # only blanks: "empty"
        return
    for line, row in zip(lines, result.rows, strict=True):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            assert not row["labelled"]
            continue
        text = obj.get("text") if isinstance(obj, dict) else None
        if isinstance(text, str) and MARKER in text and "report" not in obj:
            assert row["labelled"], row["problems"]


@SETTINGS
@given(st.lists(OBJECTS, min_size=1, max_size=10), st.binary(min_size=1, max_size=40), st.data())
def test_bytes_spliced_into_jsonl(objs: list[dict], junk: bytes, data: st.DataObject) -> None:
    raw = bytearray("\n".join(json.dumps(o) for o in objs).encode() + b"\n")
    at = data.draw(st.integers(0, len(raw)))
    raw[at:at] = junk
    result = label({"in.jsonl": bytes(raw)}, "in.jsonl", "--input-format", "jsonl")
    lines = bytes(raw).count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    check_batch(result, rows_in=lines)


def test_a_row_nested_ten_thousand_deep_is_one_error_row() -> None:
    lines = [json.dumps({"text": f"Edema. {MARKER}"}), deep(10_000, "array"), '{"text": "x"}']
    result = label({"in.jsonl": "\n".join(lines).encode()}, "in.jsonl")
    check_batch(result, rows_in=3)
    assert [r["labelled"] for r in result.rows] == [True, False, True]
    assert result.code == 1
    (problem,) = result.problem_lines()
    assert problem == "error: row 2 (line 2): JSON nested too deeply to read; left unlabelled"

"""`radpilot label` on generated and mutated CSV: for every input, no traceback, rows out ==
rows in (or every row accounted for), no report text on stderr, the exit code per --help."""

from __future__ import annotations

import csv
import io
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_cli import MARKER, check_batch, label

# Each example is a whole CLI run (~0.1 s): enough examples to find the shapes that break.
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Report-like text: words (the marker among them), punctuation that matters to CSV, line
# breaks, non-ASCII, and now and then a control character.
WORDS = st.sampled_from(
    [MARKER, "effusion", "no", "pneumothorax", "cardiomegaly", "possible", "pneumonia", "."]
)
PIECES = st.one_of(
    WORDS,
    st.sampled_from([",", '"', '""', "\n", "\r\n", " ", "  ", "é", "—", "\t", "\x00", "\x7f"]),
    st.text(max_size=8),
)
REPORTS = st.lists(st.lists(PIECES, max_size=25).map("".join), min_size=1, max_size=25)


def _control(c: str) -> bool:
    return (unicodedata.category(c) == "Cc" and c not in "\t\r\n") or c == "\ufffd"


def write_csv(reports: list[str], quoting: int = csv.QUOTE_MINIMAL) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=quoting).writerows([r] for r in reports)
    return buf.getvalue().encode("utf-8")


@SETTINGS
@given(REPORTS, st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_any_well_formed_csv_is_read_row_for_row(reports: list[str], quoting: int) -> None:
    result = label(
        {"in.csv": write_csv(reports, quoting)}, "in.csv", "--input-format", "csv", "--no-header"
    )
    check_batch(result, rows_in=len(reports))
    if not result.wrote:
        assert not "".join(reports).strip("\ufeff\x00 \t\r\n")  # only blanks: "empty"
        return
    for report, row in zip(reports, result.rows, strict=True):
        if row["labelled"]:
            assert row["id"] == str(row["row"])
        # a report with words in it is labelled, whatever its punctuation
        if any(c.isalpha() for c in report) and not any(_control(c) for c in report):
            assert row["labelled"], (report, row["problems"])


@SETTINGS
@given(
    st.lists(WORDS.filter(lambda w: w != "."), min_size=1, max_size=6).map(" ".join),
    st.integers(min_value=2, max_value=30),
    st.data(),
)
def test_a_quote_left_open_loses_no_row(words: str, n: int, data: st.DataObject) -> None:
    """One report's closing quote missing, in a file of quoted or unquoted single-line
    reports: every row still comes out once, and the broken one is named by its line."""
    reports = [f"Report {i}: {words}" for i in range(n)]
    quoting = data.draw(st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]))
    lines = write_csv(reports, quoting).decode().splitlines(keepends=True)
    broken = data.draw(st.integers(min_value=0, max_value=n - 1))
    line = lines[broken].rstrip("\r\n")
    lines[broken] = ('"' + line if not line.startswith('"') else line[:-1]) + "\r\n"
    result = label({"in.csv": "".join(lines).encode()}, "in.csv", "--no-header")
    check_batch(result, rows_in=n)
    problems = result.problem_lines()
    assert any(f"(line {broken + 1}): a quote opened on" in p for p in problems), problems
    assert all(r["labelled"] for r in result.rows)


MUTATIONS = st.sampled_from(["delete", "insert", "truncate", "bytes"])


@SETTINGS
@given(REPORTS, st.lists(st.tuples(MUTATIONS, st.integers(0, 10_000), st.binary(max_size=6))))
def test_mutated_csv_never_crashes_or_leaks_text(
    reports: list[str], mutations: list[tuple[str, int, bytes]]
) -> None:
    data = bytearray(write_csv(reports))
    for kind, at, chunk in mutations:
        at = at % (len(data) + 1)
        if kind == "delete" and data:
            del data[at % len(data)]
        elif kind == "insert":
            data[at:at] = b'"'
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = chunk
    result = label({"in.csv": bytes(data)}, "in.csv")
    check_batch(result)


@SETTINGS
@given(REPORTS, st.sampled_from(["report", "text", "Reports"]))
def test_header_csv_with_ids(reports: list[str], column: str) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["accession", column])
    w.writerows([f"ACC{i}{MARKER}", r] for i, r in enumerate(reports))
    result = label({"in.csv": buf.getvalue().encode()}, "in.csv")
    check_batch(result, rows_in=len(reports))
    assert [r["id"] for r in result.rows] == [f"ACC{i}{MARKER}" for i in range(len(reports))]


def test_a_field_over_the_csv_module_default_is_labelled() -> None:
    big = ("Large right pleural effusion. " * 5_000) + MARKER  # 150,000 characters
    result = label({"in.csv": write_csv(["Edema.", big, "No pneumothorax."])}, "in.csv")
    check_batch(result, rows_in=3)
    assert [r["labelled"] for r in result.rows] == [True, True, True]
    assert result.rows[1]["labels"]["Pleural Effusion"] == 1.0
    assert result.code == 0
    (warning,) = result.problem_lines()
    assert warning.startswith("warning: row 2 (line 2): report has 150,005 characters")

"""Reading report files: formats, encodings, bad rows; and the writers."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.reports import writers
from radpilot.reports.readers import ReportReader
from radpilot.reports.rows import (
    MAX_REPORT_CHARS,
    InputFormat,
    LabelledRow,
    RowProblem,
    Severity,
    merge_problems,
)
from radpilot.reports.textfile import clean_text, sniff_encoding
from radpilot.reports.writers import ChexpertCsvWriter, MentionsJsonlWriter, open_output

LONG = "Large right pleural effusion. " * 4000  # 120,000 characters


def read_all(path: Path, **kw: object) -> list[tuple[str, str, list[str]]]:
    with ReportReader(path, **kw) as r:  # type: ignore[arg-type]
        return [(row.id, row.text, [f"{p.severity.value}: {p}" for p in row.problems]) for row in r]


# (name, file bytes, reader options, expected [(id, text, [problem substrings])])
CASES = [
    (
        "headerless",
        b"No pneumothorax.\nLarge right pleural effusion.\n",
        {},
        [("1", "No pneumothorax.", []), ("2", "Large right pleural effusion.", [])],
    ),
    (
        "headerless quoted newline and comma",
        b'"FINDINGS: Clear lungs, no effusion.\nIMPRESSION: Normal."\nEdema.\n',
        {},
        [
            ("1", "FINDINGS: Clear lungs, no effusion.\nIMPRESSION: Normal.", []),
            ("2", "Edema.", []),
        ],
    ),
    (
        "headerless unquoted comma joined back",
        b"No effusion, no pneumothorax.\n",
        {},
        [("1", "No effusion, no pneumothorax.", ["warning: row 1 (line 1): 2 fields"])],
    ),
    (
        "header auto-detected",
        b"id,report\nA1,Edema.\nA2,No edema.\n",
        {},
        [("A1", "Edema.", []), ("A2", "No edema.", [])],
    ),
    (
        "header named columns",
        b"accession,notes,body\n7,x,Edema.\n",
        {"text_column": "body", "id_column": "accession"},
        [("7", "Edema.", [])],
    ),
    (
        "labeler output re-read (Reports column)",
        b"Reports,No Finding\nEdema.,\n",
        {},
        [("1", "Edema.", [])],
    ),
    (
        "ragged rows",
        b"id,report,site\n1,Edema.,a,EXTRA\n2\n3,Effusion.\n",
        {},
        [
            ("1", "Edema.", ["warning: row 1 (line 2): 4 fields, the header has 3; extra fields"]),
            ("2", "", ["error: row 2 (line 3): 1 fields, the header has 3; no report field"]),
            ("3", "Effusion.", ["warning: row 3 (line 4): 2 fields, the header has 3"]),
        ],
    ),
    (
        "text column last: unquoted commas joined",
        b"id,report\n1,Clear, no effusion.\n",
        {},
        [("1", "Clear, no effusion.", ["joined the extra fields"])],
    ),
    (
        "empty rows",
        b"Edema.\n\n   \nEffusion.\n",
        {},
        [
            ("1", "Edema.", []),
            ("2", "", ["error: row 2 (line 2): empty row"]),
            ("3", "   ", ["error: row 3 (line 3): empty report"]),
            ("4", "Effusion.", []),
        ],
    ),
    (
        "utf-8 BOM",
        codecs.BOM_UTF8 + "report\nÉpanchement; no effusion.\n".encode(),
        {},
        [("1", "Épanchement; no effusion.", [])],
    ),
    (
        "utf-16 BOM",
        "report\nNo pneumothorax – stable.\n".encode("utf-16"),
        {},
        [("1", "No pneumothorax – stable.", [])],
    ),
    (
        "utf-16-le without BOM",
        "No pneumothorax.\nEdema.\n".encode("utf-16-le"),
        {},
        [("1", "No pneumothorax.", []), ("2", "Edema.", [])],
    ),
    (
        "cp1252 line fallback",
        "No effusion.\n“Mild” edema – stable.\n".encode("cp1252"),
        {},
        [
            ("1", "No effusion.", []),
            (
                "2",
                "“Mild” edema – stable.",
                ["warning: row 2 (line 2): not valid UTF-8; decoded as cp1252"],
            ),
        ],
    ),
    (
        "latin-1 last resort",
        b"Edema \x81 noted.\n",
        {},
        [("1", "Edema  noted.", ["decoded as latin-1", "removed 1 control"])],
    ),
    (
        "NUL bytes removed",
        b"No pneumo\x00thorax.\n",
        {},
        [("1", "No pneumothorax.", ["warning: row 1 (line 1): removed 1 control/NUL"])],
    ),
    (
        "binary junk row",
        b"Edema.\n\x00\x01\x02\x03\x04\x05\x06\x07garbage\nEffusion.\n",
        {},
        [
            ("1", "Edema.", []),
            ("2", "", ["error: row 2 (line 2): looks like binary data"]),
            ("3", "Effusion.", []),
        ],
    ),
    (
        "lone CR is a parse error, batch goes on",
        b"Edema.\nab\rcd\nEffusion.\n",
        {},
        [
            ("1", "Edema.", []),
            ("2", "", ["error: row 2 (line 2): cannot parse as CSV"]),
            ("3", "Effusion.", []),
        ],
    ),
    (
        "jsonl defaults",
        b'{"id": 5, "text": "Edema."}\n{"report": "No edema.", "study_id": "s9"}\n',
        {},
        [("5", "Edema.", []), ("s9", "No edema.", [])],
    ),
    (
        "jsonl bad lines",
        b'{"text": "Edema."}\nnot json\n[1, 2]\n\n{"text": 3}\n{"other": "x"}\n{"text": null}\n',
        {},
        [
            ("1", "Edema.", []),
            ("2", "", ["error: row 2 (line 2): not valid JSON"]),
            ("3", "", ["error: row 3 (line 3): expected a JSON object, got an array"]),
            ("4", "", ["error: row 4 (line 4): empty line"]),
            ("5", "", ["error: row 5 (line 5): field 'text' is a number, expected a string"]),
            ("6", "", ["error: row 6 (line 6): no text field", "has 1 key(s)"]),
            ("7", "", ["error: row 7 (line 7): empty report"]),
        ],
    ),
    (
        "jsonl named keys",
        b'{"acc": "x1", "body": "Edema."}\n{"body": "Effusion."}\n',
        {"text_column": "body", "id_column": "acc"},
        [("x1", "Edema.", []), ("2", "Effusion.", ["warning: row 2 (line 2): no id field 'acc'"])],
    ),
    (
        "forced csv on a brace line",
        b'{"text": "x"}\n',
        {"input_format": InputFormat.CSV, "header": False},
        [("1", '{"text": "x"}', [])],
    ),
]


@pytest.mark.parametrize(("name", "data", "opts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reader_cases(
    tmp_path: Path, name: str, data: bytes, opts: dict[str, object], expected: list
) -> None:
    path = tmp_path / "in.dat"
    path.write_bytes(data)
    got = read_all(path, **opts)
    assert len(got) == len(expected), "rows out != rows in"
    for (gid, gtext, gprobs), (eid, etext, esubs) in zip(got, expected, strict=True):
        assert gid == eid
        assert gtext == etext
        joined = " | ".join(gprobs)
        for sub in esubs:
            assert sub in joined, (sub, joined)
        if not esubs:
            assert gprobs == []
        for p in gprobs:
            assert "\n" not in p


def test_long_report_is_truncated_for_labelling_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerow([LONG[: MAX_REPORT_CHARS + 500]])
        f.write("Edema.\n")
    rows = list(ReportReader(path))
    assert len(rows) == 2
    assert len(rows[0].text) == MAX_REPORT_CHARS + 500
    assert rows[0].usable
    assert "over the 100,000 limit; labelled its first 100,000" in str(rows[0].problems[0])
    assert rows[1].text == "Edema." and not rows[1].problems


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_over_the_csv_default_limit_is_labelled_on_its_prefix(
    tmp_path: Path, quoted: bool
) -> None:
    """Python's csv default (131,072 characters) is no limit on a report: --help promises
    the first 100,000 of any field."""
    path = tmp_path / "huge.csv"
    big = "Large right pleural effusion. " * 7_000  # 210,000 characters
    path.write_text("Edema.\n" + (f'"{big}, x"' if quoted else big) + "\nEffusion.\n")
    rows = list(ReportReader(path))
    assert [r.text[:6] for r in rows] == ["Edema.", "Large ", "Effusi"]
    assert rows[1].usable and len(rows[1].text) >= 210_000
    (problem,) = rows[1].problems
    assert problem.severity is Severity.WARNING
    assert str(problem).startswith("row 2 (line 2): report has 2")
    assert "labelled its first 100,000" in problem.message


@pytest.fixture
def small_field_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    import radpilot.reports.csvrecords as csvrecords

    before = csv.field_size_limit()
    monkeypatch.setattr(csvrecords, "MAX_FIELD_CHARS", 1_000)
    monkeypatch.setattr(csvrecords, "MAX_RECORD_CHARS", 2_000)
    csv.field_size_limit(1_000)
    yield 1_000
    csv.field_size_limit(before)


def test_over_the_field_limit_is_an_error_row_and_the_batch_goes_on(
    tmp_path: Path, small_field_limit: int
) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("Edema.\n" + "x" * (small_field_limit + 1) + "\nEffusion.\n")
    rows = list(ReportReader(path))
    assert [r.text for r in rows] == ["Edema.", "", "Effusion."]
    assert rows[1].problems[0].severity is Severity.ERROR
    assert str(rows[1].problems[0]) == (
        "row 2 (line 2): a field over the 1,000-character limit; left unlabelled"
    )


def test_a_quoted_field_running_past_the_limit_is_read_as_a_broken_quote(
    tmp_path: Path, small_field_limit: int
) -> None:
    lines = [f"Report {i} about the lungs, {'x' * 90}" for i in range(40)]  # 4,000+ chars
    path = tmp_path / "runaway.csv"
    path.write_text('Edema.\n"' + "\n".join(lines) + "\n")
    rows = list(ReportReader(path, header=False))
    assert rows[0].text == "Edema."
    assert "a quote opened on line 2 runs over 1,000 characters" in str(rows[1].problems[0])
    assert rows[1].usable and rows[1].text.startswith("Report 0 about")
    # the lines after it are rows again, each once, in order
    assert [r.line for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1].text.startswith("Report 39 about")


def test_problems_never_contain_report_text(tmp_path: Path) -> None:
    secret = "Patient John Q Public has a pneumothorax"
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"id,report,extra\n1,"
        + secret.encode()
        + b",a,b\n2,"
        + secret.encode("cp1252")
        + b"\x00\xe9\n"
    )
    rows = list(ReportReader(path))
    assert len(rows) == 2
    for r in rows:
        assert r.problems
        for p in r.problems:
            assert "John" not in str(p)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_bytes(b"\n\n  \n"), "is empty"),
        (lambda p: p.write_bytes(codecs.BOM_UTF8), "is empty"),
    ],
    ids=["missing", "directory", "empty", "blank", "bom-only"],
)
def test_unreadable_inputs_raise_one_line(tmp_path: Path, setup, message: str) -> None:
    path = tmp_path / "reports.csv"
    setup(path)
    with pytest.raises(InputError) as exc:
        ReportReader(path)
    assert message in str(exc.value)
    assert str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("data", "opts", "message"),
    [
        (b"id,body\n1,x\n", {"text_column": "report"}, "no text column 'report'"),
        (b"id,report\n1,x\n", {"id_column": "acc"}, "no id column 'acc'"),
        (b"id,report\n1,x\n", {"id_column": "acc"}, "its columns: 'id', 'report'"),
        (b"a,b\n1,x\n", {"header": True}, r"the first row has 2 field\(s\), not shown"),
        (b"Edema.,ACC123\n", {"text_column": "r"}, r"no text column 'r' \(text_column\)"),
    ],
)
def test_bad_header_options(tmp_path: Path, data: bytes, opts: dict, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        ReportReader(path, **opts)  # raised on opening, before any output is written
    # A first row that names no known text column may be a report: never echoed.
    said = str(info.value).removeprefix(str(path))
    assert "Edema" not in said and "ACC123" not in said


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (codecs.BOM_UTF8 + b"x", "utf-8-sig"),
        ("x".encode("utf-16"), "utf-16"),
        ("x".encode("utf-32"), "utf-32"),
        ("abc".encode("utf-16-le"), "utf-16-le"),
        ("abc".encode("utf-16-be"), "utf-16-be"),
        (b"plain", "utf-8"),
        (b"\x93cp1252\x94", "utf-8"),
        (b"", "utf-8"),
    ],
)
def test_sniff_encoding(head: bytes, encoding: str) -> None:
    assert sniff_encoding(head) == encoding


@pytest.mark.parametrize(
    ("text", "cleaned", "junk"),
    [
        ("Clear lungs.", "Clear lungs.", False),
        ("Tab\tand\nnewline.", "Tab\tand\nnewline.", False),
        ("a\x00b", "ab", False),
        ("\x00\x01\x02\x03", "", True),
        ("", "", False),
    ],
)
def test_clean_text(text: str, cleaned: str, junk: bool) -> None:
    out, _, is_junk = clean_text(text)
    assert (out, is_junk) == (cleaned, junk)


def test_streaming_reads_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("Edema.\n" * 200_000)
    reader = ReportReader(path)
    it = iter(reader)
    next(it)
    assert reader.bytes_read < 100_000  # one buffer, not the whole 1.4 MB file
    reader.close()


def test_csv_writer_matches_labeler_convention() -> None:
    buf = io.StringIO()
    w = ChexpertCsvWriter(buf, "chexpert", ["No Finding", "Edema"])
    w.write(LabelledRow(1, "1", 'He said "no", ok\nnext', {"chexpert": (None, 1.0)}))
    w.write(LabelledRow(2, "2", "", {}))
    w.write(LabelledRow(3, "3", "x", {"chexpert": (0.0, -1.0)}))
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["Reports"] for r in rows] == ['He said "no", ok\nnext', "", "x"]
    assert [(r["No Finding"], r["Edema"]) for r in rows] == [
        ("", "1.0"),
        ("", ""),
        ("0.0", "-1.0"),
    ]


@pytest.mark.parametrize("fast", [True, False])
def test_csv_writer_writes_what_csv_writer_writes(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    # The writer quotes report cells itself (when that matches this Python's csv module);
    # the bytes must be csv.writer's either way.
    if not fast:
        monkeypatch.setattr(writers, "_quoting_matches_csv", lambda: False)
    texts = ["", " ", "plain", 'a "b"', "x,y", "l1\nl2", "l1\r\nl2", "cr\ronly", '"', "\t", "é ß İ"]
    values = [(None, 1.0), (0.0, -1.0), (-0.0, 2.5), ()]
    buf, expected = io.StringIO(), io.StringIO()
    w = ChexpertCsvWriter(buf, "chexpert", ["No Finding", "Edema"])
    ref = csv.writer(expected, lineterminator="\n")
    ref.writerow(["Reports", "No Finding", "Edema"])
    for i, text in enumerate(texts):
        v = values[i % len(values)]
        w.write(LabelledRow(i + 1, str(i), text, {"chexpert": v} if v else {}))
        cells = ["" if x is None else repr(float(x)) for x in v] if v else ["", ""]
        ref.writerow([text, *cells])
    assert w._fast is fast
    assert buf.getvalue() == expected.getvalue()


def test_jsonl_writer() -> None:
    buf = io.StringIO()
    w = MentionsJsonlWriter(buf, "chexpert", ["Edema"])
    w.write(LabelledRow(1, "a", "t", {"chexpert": (1.0,)}, ({"finding": "edema"},)))
    obj = json.loads(buf.getvalue())
    assert obj == {
        "row": 1,
        "id": "a",
        "labelled": True,
        "label_set": "chexpert",
        "labels": {"Edema": 1.0},
        "mentions": [{"finding": "edema"}],
        "problems": [],
    }


def test_jsonl_writer_splices_what_the_encoder_writes() -> None:
    # Rows whose mentions come pre-encoded (label_rows(mentions_json=True)) are written
    # byte for byte as the same rows with mention dicts: problems, targets, odd text.
    from radpilot.reports import read

    report = read('FINDINGS: 2 cm "nodule" – é İ. Right knee: small effusion.\nNo edema.')
    dicts = tuple(m.to_dict() for m in report.mentions)
    problem = RowProblem(2, 3, Severity.WARNING, 'odd "quote"\tand é')
    cases = [
        dict(labels={"chexpert": (1.0, None)}, problems=(), targets=None),
        dict(labels={}, problems=(problem,), targets=({"start": 0, "end": 2, "cues": []},)),
        dict(labels={"chexpert": (-1.0, 0.0)}, problems=(problem, problem), targets=()),
    ]
    for case in cases:
        plain, spliced = io.StringIO(), io.StringIO()
        for buf, json_text, mentions in (
            (plain, None, dicts),
            (spliced, writers.mentions_array(report.mentions), None),
        ):
            row = LabelledRow(7, 'id "7"', report.text, mentions=mentions, **case)  # type: ignore[arg-type]
            row = dataclasses.replace(row, mentions_json=json_text)
            MentionsJsonlWriter(buf, "chexpert", ["Edema", "No Finding"]).write(row)
        assert spliced.getvalue() == plain.getvalue()
    assert writers.mentions_array(()) == "[]" == json.dumps([])
    assert writers.mentions_array(report.mentions) == json.dumps(list(dicts), ensure_ascii=False)


def test_open_output_refuses_the_input(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("x\n")
    with pytest.raises(InputError, match="is the input file"), open_output(path, input_path=path):
        pass
    with pytest.raises(InputError, match="cannot write"), open_output(tmp_path / "no" / "x.csv"):
        pass


_TEXT = st.text(alphabet=st.sampled_from(list("abc XYZ.,;:'\"\n\r\t-–é“”0123")), max_size=40)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=8), encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_any_csv_round_trips_row_for_row(texts: list[str], encoding: str) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([t] for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "in.csv")
        path.write_bytes(buf.getvalue().encode(encoding))
        if not buf.getvalue().strip(" \t\r\n"):
            with pytest.raises(InputError, match="is empty"):
                ReportReader(path, header=False)
            return
        with ReportReader(path, header=False) as reader:
            got = list(reader)
    assert [r.row for r in got] == list(range(1, len(texts) + 1))
    assert [r.text for r in got] == texts


def test_a_row_reports_each_problem_once_and_merges_to_one_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes('"“Mild”\nedema\x00\n“again”"\n'.encode("cp1252"))
    (row,) = ReportReader(path)
    messages = [p.message for p in row.problems]
    assert messages == ["not valid UTF-8; decoded as cp1252", "removed 1 control/NUL character(s)"]
    merged = merge_problems(row.problems)
    assert merged.severity is Severity.WARNING
    assert str(merged) == (
        "row 1 (line 1): not valid UTF-8; decoded as cp1252; removed 1 control/NUL character(s)"
    )
    error = RowProblem(1, 1, Severity.ERROR, "empty")
    assert merge_problems([*row.problems, error]).severity is Severity.ERROR


@pytest.mark.parametrize(
    ("data", "layout"),
    [
        (b"Edema.\n", "csv, no header row, utf-8"),
        (
            b"ID,Report\n1,Edema.\n",
            "csv, header row, report column 'Report', id column 'ID', utf-8",
        ),
        ("report\nEdema.\n".encode("utf-16"), "csv, header row, report column 'report', utf-16"),
        (b'{"text": "Edema."}\n', "jsonl, utf-8"),
    ],
)
def test_layout_says_how_the_file_was_read(tmp_path: Path, data: bytes, layout: str) -> None:
    path = tmp_path / "in"
    path.write_bytes(data)
    with ReportReader(path) as reader:
        assert reader.layout == layout


# -- 8.11: a quote that is never closed ------------------------------------------------


def test_an_unclosed_quote_is_named_and_the_quoted_reports_after_it_stay_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(
        '"Edema."\n"Small left effusion, no pneumothorax.\n"Cardiomegaly."\n"No acute disease."\n'
    )
    rows = list(ReportReader(path))
    assert [r.text for r in rows] == [
        "Edema.",
        "Small left effusion, no pneumothorax.",
        "Cardiomegaly.",
        "No acute disease.",
    ]
    assert [r.line for r in rows] == [1, 2, 3, 4]
    (problem,) = rows[1].problems
    assert problem.severity is Severity.WARNING
    assert str(problem).startswith("row 2 (line 2): a quote opened on line 2 is never closed")
    assert not rows[2].problems and not rows[3].problems


def test_an_unclosed_quote_never_swallows_the_rest_of_the_file(tmp_path: Path) -> None:
    lines = [f"Report {i}: no pneumothorax." for i in range(50)]
    lines[3] = '"' + lines[3]
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n")
    rows = list(ReportReader(path))
    assert len(rows) == 50  # rows out == rows in
    assert rows[3].text == "Report 3: no pneumothorax."
    assert (
        "a quote opened on line 4 is never closed (it would swallow lines 5-50); read line 4 alone"
        in str(rows[3].problems[0])
    )
    assert [r.text for r in rows[4:]] == lines[4:]
    assert all(not r.problems for i, r in enumerate(rows) if i != 3)


def test_an_unclosed_quote_on_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "last.csv"
    path.write_text('Edema.\n"Large right effusion')
    rows = list(ReportReader(path))
    assert [r.text for r in rows] == ["Edema.", "Large right effusion"]
    assert str(rows[1].problems[0]) == ("row 2 (line 2): a quote opened on line 2 is never closed")


def test_a_legitimate_multi_line_report_is_still_one_row(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text('"FINDINGS: Clear.\nIMPRESSION: Normal." \nEdema.\n')  # a space after it
    rows = list(ReportReader(path))
    assert [r.text for r in rows] == ["FINDINGS: Clear.\nIMPRESSION: Normal. ", "Edema."]
    assert not any(r.problems for r in rows)


def test_a_header_file_with_an_unclosed_quote_keeps_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('id,report\nA1,"Edema.\nA2,"No effusion."\nA3,Clear lungs.\n')
    rows = list(ReportReader(path))
    assert [(r.id, r.text) for r in rows] == [
        ("A1", "Edema."),
        ("A2", "No effusion."),
        ("A3", "Clear lungs."),
    ]
    assert "a quote opened on line 2" in str(rows[0].problems[0])


# -- 8.2: JSON nested too deeply -------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 1_000, 100_000])
def test_deeply_nested_json_is_one_error_row(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.jsonl"
    deep = '{"text": ' + "[" * depth + "]" * depth + "}"
    nested_id = '{"id": ' + "[" * depth + "]" * depth + ', "text": "Edema."}'
    path.write_text('{"text": "Edema."}\n' + deep + "\n" + nested_id + '\n{"text": "x"}\n')
    rows = list(ReportReader(path))
    assert len(rows) == 4
    assert rows[0].usable and rows[3].usable
    assert not rows[1].usable
    assert str(rows[1].problems[0]).startswith("row 2 (line 2): ")
    if depth >= 1_000:  # beyond the decoder's recursion limit
        assert "nested too deeply" in str(rows[1].problems[0])
        assert "nested too deeply" in str(rows[2].problems[0])
    else:
        assert "field 'text' is an array, expected a string" in str(rows[1].problems[0])
        assert rows[2].usable and rows[2].id == "3"  # an array id: the row number
        assert "id field 'id' is an array; used the row number" in str(rows[2].problems[0])


def test_a_number_too_long_to_read_is_an_error_row(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text('{"id": ' + "9" * 5_000 + ', "text": "Edema."}\n{"text": "Edema."}\n')
    rows = list(ReportReader(path))
    assert [r.usable for r in rows] == [False, True]
    assert "not readable JSON (ValueError)" in str(rows[0].problems[0])


# -- OpenI XML input ---------------------------------------------------------------------


def openi_xml(findings: str | None, impression: str | None) -> bytes:
    parts = []
    for label, body in (("FINDINGS", findings), ("IMPRESSION", impression)):
        if body is not None:
            parts.append(f'<AbstractText Label="{label}">{body}</AbstractText>')
    return (
        "<eCitation><MedlineCitation><Article><Abstract>"
        + "".join(parts)
        + "</Abstract></Article></MedlineCitation><MeSH><major>normal</major></MeSH></eCitation>"
    ).encode()


def test_an_openi_folder_is_one_row_per_file_in_id_order(tmp_path: Path) -> None:
    folder = tmp_path / "openi"
    folder.mkdir()
    (folder / "10.xml").write_bytes(openi_xml("Heart normal.", "No pneumothorax."))
    (folder / "2.xml").write_bytes(openi_xml(None, "Small left effusion."))
    (folder / "3.xml").write_bytes(b"<eCitation><unclosed>")
    (folder / "7.xml").write_bytes(openi_xml(None, None))
    with ReportReader(folder) as reader:
        rows = list(reader)
        assert reader.format is InputFormat.OPENI
        assert reader.layout == "openi xml, 4 files"
    assert [r.id for r in rows] == ["2", "3", "7", "10"]
    assert rows[0].text == "IMPRESSION: Small left effusion."
    assert rows[3].text == "FINDINGS: Heart normal.\nIMPRESSION: No pneumothorax."
    assert [r.usable for r in rows] == [True, False, False, True]
    assert str(rows[1].problems[0]).startswith(f"row 2 ({folder / '3.xml'}): not well-formed XML")
    assert str(rows[2].problems[0]) == (
        f"row 3 ({folder / '7.xml'}): no FINDINGS or IMPRESSION section; left unlabelled"
    )


def test_one_openi_xml_and_a_truncated_archive(tmp_path: Path) -> None:
    import tarfile

    one = tmp_path / "5.xml"
    one.write_bytes(openi_xml("Clear lungs.", None))
    assert [(r.id, r.text) for r in ReportReader(one)] == [("5", "FINDINGS: Clear lungs.")]
    tgz = tmp_path / "reports.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        for i in range(300):
            data = openi_xml(f"Report {i} " + "x" * 2_000, None)
            info = tarfile.TarInfo(f"ecgen-radiology/{i}.xml")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    full = list(ReportReader(tgz))
    assert len(full) == 300 and all(r.usable for r in full)
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(tgz.read_bytes()[: tgz.stat().st_size // 2])
    try:
        rows = list(ReportReader(cut))
    except InputError as exc:
        # iter_xml_files lists the whole archive before it yields a file: nothing is read.
        assert str(exc) == f"{cut}: cannot read (EOFError)"
        return
    assert all(r.usable for r in rows[:-1])  # a streaming reader: what came before stays
    assert str(rows[-1].problems[0]).startswith(f"row {len(rows)} ({cut}): cannot read on")


def test_an_archive_that_breaks_off_keeps_what_came_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import radpilot.reports.openiinput as openiinput

    def two_then_broken(path: Path) -> Iterator[tuple[bytes, str, str]]:
        yield openi_xml("Clear lungs.", None), "1", f"{path}:1.xml"
        yield openi_xml(None, "Edema."), "2", f"{path}:2.xml"
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(openiinput, "iter_xml_files", two_then_broken)
    path = tmp_path / "reports.tgz"
    path.write_bytes(b"")
    rows = list(ReportReader(path))
    assert [r.usable for r in rows] == [True, True, False]
    assert str(rows[2].problems[0]) == (
        f"row 3 ({path}): cannot read on after 2 files (EOFError); left unlabelled"
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "is a directory with no .xml files"),
        (lambda p: p.write_bytes(b"not an archive"), "not a tar archive"),
    ],
)
def test_unusable_openi_input_raises_one_line(tmp_path: Path, setup, message: str) -> None:
    path = tmp_path / "reports.tgz"
    setup(path)
    with pytest.raises(InputError, match=message):
        ReportReader(path)

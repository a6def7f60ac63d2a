"""Batch labelling: one row out per row in, in order, in flat memory, in parallel."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from radpilot import registry
from radpilot.errors import InputError
from radpilot.reports.batch import label_file, label_rows
from radpilot.reports.labelsets import CHESTXRAY14, CHEXPERT, LabelSet
from radpilot.reports.policy import CHEXPERT as CHEXPERT_POLICY
from radpilot.reports.rows import InputRow, RowProblem, Severity

TEXTS = [
    "Large right pleural effusion.",
    "No pneumothorax.",
    "FINDINGS: The heart is normal in size. The lungs are clear.\nIMPRESSION: No acute disease.",
    "Cardiomegaly with mild pulmonary edema. Left basilar atelectasis.",
    "Endotracheal tube in good position. Possible right lower lobe pneumonia.",
]


def make_rows(n: int) -> list[InputRow]:
    rows = []
    for i in range(1, n + 1):
        if i % 7 == 0:  # an unusable row every so often: it must pass through in place
            bad = RowProblem(i, i, Severity.ERROR, "empty row; left unlabelled")
            rows.append(InputRow(i, str(i), "", (bad,), i))
        else:
            rows.append(InputRow(i, f"id{i}", TEXTS[i % len(TEXTS)], (), i))
    return rows


def column(name: str, label_set: LabelSet = CHEXPERT) -> int:
    return label_set.labels.index(name)


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        ("Large right pleural effusion.", "Pleural Effusion", 1.0),
        ("No pneumothorax.", "Pneumothorax", 0.0),
    ],
)
def test_unambiguous_values(text: str, label: str, value: float) -> None:
    (out,) = label_rows([InputRow(1, "1", text)])
    assert out.labelled
    assert out.labels["chexpert"][column(label)] == value


def test_label_sets_are_registered_with_their_columns() -> None:
    assert registry.label_sets.names() == ["chestxray14.v1", "chexpert.v1"]
    assert registry.label_sets.get("chexpert") is CHEXPERT
    assert registry.label_sets.get("chestxray14.v1") is CHESTXRAY14
    assert CHEXPERT.labels[:3] == ("No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly")
    assert len(CHEXPERT.labels) == 14
    assert CHESTXRAY14.labels[-1] == "No Finding"
    assert len(CHESTXRAY14.labels) == 15


def test_rows_out_equal_rows_in_and_keep_order() -> None:
    rows = make_rows(40)
    out = list(label_rows(rows, label_sets=(CHEXPERT, CHESTXRAY14), with_mentions=True))
    assert [r.row for r in out] == list(range(1, 41))
    assert [r.id for r in out] == [r.id for r in rows]
    for src, got in zip(rows, out, strict=True):
        assert got.labelled == src.usable
        if got.labelled:
            assert len(got.labels["chexpert"]) == 14 and len(got.labels["chestxray14"]) == 15
            assert got.mentions is not None
        else:
            assert got.labels == {} and got.problems == src.problems


def test_two_jobs_give_identical_output() -> None:
    rows = make_rows(60)
    one = list(label_rows(rows, with_mentions=True, jobs=1))
    two = list(label_rows(rows, with_mentions=True, jobs=2, chunk_size=7))
    assert one == two


def test_parallel_reads_input_lazily() -> None:
    pulled = 0

    def source() -> Iterator[InputRow]:
        nonlocal pulled
        for i in range(1, 100_000):
            pulled += 1
            yield InputRow(i, str(i), TEXTS[i % len(TEXTS)], (), i)

    it = label_rows(source(), jobs=2, chunk_size=10)
    first = next(it)
    assert first.row == 1
    # at most 3 chunks per job in flight, plus the one being cut
    assert pulled <= 3 * 2 * 10 + 10
    it.close()  # type: ignore[attr-defined]


def test_reader_failure_is_an_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    import radpilot.reports as reports

    real = reports.read

    def flaky(text: str, **kw):  # type: ignore[no-untyped-def]
        if "BOOM" in text:
            raise ValueError("synthetic reader bug")
        return real(text, **kw)

    monkeypatch.setattr(reports, "read", flaky)
    rows = [InputRow(1, "a", "Edema."), InputRow(2, "b", "BOOM", (), 5), InputRow(3, "c", "Edema.")]
    out = list(label_rows(rows))
    assert [r.labelled for r in out] == [True, False, True]
    assert str(out[1].problems[-1]) == (
        "row 2 (line 5): the report reader failed (ValueError); left unlabelled"
    )


def test_long_reports_are_labelled_on_a_prefix() -> None:
    text = "Large right pleural effusion. " + "x" * 200
    (out,) = label_rows([InputRow(1, "1", text)], max_chars=30)
    assert out.labels["chexpert"][column("Pleural Effusion")] == 1.0
    assert out.text == text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jobs": 0}, "^jobs must be 1 or more, got 0$"),
        ({"chunk_size": 0}, "^chunk_size must be 1 or more, got 0$"),
    ],
)
def test_invalid_options_name_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        list(label_rows(make_rows(2), **kwargs))


def test_the_policy_is_an_object_passed_through() -> None:
    row = InputRow(1, "1", "Right basilar opacity, may represent pneumonia.")
    (default,) = label_rows([row])
    (strict,) = label_rows([row], policy=CHEXPERT_POLICY)
    assert default.labels["chexpert"][column("Pneumonia")] is None
    assert strict.labels["chexpert"][column("Pneumonia")] == -1.0
    (two,) = label_rows([row], jobs=2, policy=CHEXPERT_POLICY)  # the object crosses to workers
    assert two == strict


def test_label_file_summary(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"Large right pleural effusion.\n\nNo pneumothorax.\n\x00\x01\x02\x03junk\n")
    seen: list[str] = []
    progress: list[tuple[int, int, int]] = []
    summary = label_file(
        src,
        tmp_path / "out.csv",
        on_problem=lambda p: seen.append(str(p)),
        on_progress=lambda *a: progress.append(a),
    )
    assert (summary.rows_read, summary.labelled, summary.errors) == (4, 2, 2)
    assert seen[0].startswith("row 2 (line 2): empty row") and seen[1].startswith("row 4 (line 4)")
    assert summary.label_counts["Pleural Effusion"][1.0] == 1
    assert summary.label_counts["Pneumothorax"][0.0] == 1
    assert progress[-1] == (4, src.stat().st_size, src.stat().st_size)
    assert summary.encoding == "utf-8" and summary.input_format == "csv"
    assert summary.layout == "csv, no header row, utf-8"


def test_demo_step_labels_all_openi_reports_through_the_cli(tmp_path: Path) -> None:
    import io as _io

    from rich.console import Console

    from radpilot.commands.demo import run_demo
    from radpilot.devdata import shared_dir

    buf = _io.StringIO()
    run_demo(tmp_path, Console(file=buf, width=120), ["reports"])
    shown = buf.getvalue()
    # three over OpenI, then --vocab and targets mode on bundled / made-up notes
    assert shown.count("$ radpilot label ") == 5
    folder = tmp_path / "reports"
    assert (folder / "notes_with_vocab.jsonl").is_file()
    assert (folder / "clinical_targets_out.jsonl").is_file()
    with (folder / "openi_chexpert.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "Reports" and len(rows[0]) == 15
    assert len(rows) == 1 + 3955
    with (folder / "openi_chestxray14.csv").open(newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 1 + 3955
    lines = (folder / "openi_mentions.jsonl").read_text().splitlines()
    assert len(lines) == 3955
    objs = [json.loads(x) for x in lines]
    assert [o["id"] for o in objs[:3]] == ["1", "2", "3"]  # report-id order
    assert sum(not o["labelled"] for o in objs) == 28  # no FINDINGS or IMPRESSION
    if (shared_dir() / "data" / "openi" / "openi_gold.py").is_file():
        assert "macro-F1" in shown  # the dev-split scores, from the JSONL the command wrote
    else:  # a clean clone without ../shared: the demo says it skips them
        assert "skipping the dev-split scores" in shown

"""Datasets on a real SQLite file: create from report files, the export before any answer
is `radpilot label`'s own output row for row, answers change exports, agreement, the
adjudicator, regression cases, strategies, and strict parsing of posted decisions."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.commands.main import run
from radpilot.datasets.active import by_uncertainty, priorities, shuffled, strategy
from radpilot.datasets.agreement import kappa_table, resolve
from radpilot.datasets.assign import assign, assign_adjudicator
from radpilot.datasets.bundle import bundle
from radpilot.datasets.codec import decisions_from_json
from radpilot.datasets.create import create_dataset
from radpilot.datasets.exports import ExportFormat, export
from radpilot.datasets.models import Action, Annotation, DatasetError, Role, Task, decide
from radpilot.datasets.regression import correction_cases
from radpilot.datasets.store import open_datasets
from radpilot.errors import RegistryError
from radpilot.evaluate.agreement import cohen_kappa_score

REPORTS = [
    "Small left pleural effusion. No pneumothorax.",
    "Heart size is enlarged. Possible right lower lobe pneumonia.",
    "No acute cardiopulmonary abnormality.",
    'Right upper lobe opacity, may represent atelectasis. "Quoted" words, and a comma.',
    "Mild pulmonary edema. Cardiomegaly. Right chest tube in place.",
    "Cannot exclude a small right pneumothorax.",
]


@pytest.fixture
def reports_csv(tmp_path: Path) -> Path:
    path = tmp_path / "reports.csv"
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for text in REPORTS:
            w.writerow([text])
    return path


def _regression_suite():  # type: ignore[no-untyped-def]
    """The reader suite's own case parser (loaded from its file: tests are no package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "reports" / "test_regression.py"
    spec = importlib.util.spec_from_file_location("_regression_suite", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def test_export_before_answers_is_radpilot_label_row_for_row(
    tmp_path: Path, reports_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.db"
    code, _out, err = _cli(capsys, "datasets", "create", "cxr", "--from-files", str(reports_csv),
                           "--task", "report-labels", "--db", str(db))  # fmt: skip
    assert code == 0, err
    assert "6 item(s) added" in err
    code, _out, err = _cli(
        capsys, "label", str(reports_csv), "-o", str(tmp_path / "label.csv"), "-q"
    )
    assert code == 0, err
    code, _out, err = _cli(capsys, "datasets", "export", "cxr", "--format", "chexpert-csv",
                           "-o", str(tmp_path / "ds.csv"), "--db", str(db))  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "ds.csv").read_bytes() == (tmp_path / "label.csv").read_bytes()
    sheet = json.loads((tmp_path / "ds.csv.datasheet.json").read_text())
    assert sheet["items"] == 6 and sheet["resolution"] == {"radpilot": 6}
    assert sheet["counts"]["Pleural Effusion"]["present"] == 1
    # the archive commands still see an archive in the same file
    code, _out, err = _cli(capsys, "archive", "stats", "--db", str(db))
    assert code == 0, err


def test_a_bad_row_is_named_and_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from radpilot import samples

    db = tmp_path / "a.db"
    code, _out, err = _cli(capsys, "datasets", "create", "s", "--from-files",
                           str(samples.get("reports.csv")), "--task", "report-labels", "--db", str(db))  # fmt: skip
    assert code == 1
    assert "error: reports.csv: row 4 (line 5): empty row; not added" in err
    code, _out, err = _cli(capsys, "datasets", "create", "s", "--from-files",
                           str(samples.get("reports.csv")), "--task", "report-labels", "--db", str(db))  # fmt: skip
    assert code == 2 and "exists already" in err and "Traceback" not in err
    code, _out, err = _cli(capsys, "datasets", "stats", "nosuch", "--db", str(db))
    assert code == 2 and "datasets: s" in err


def _made(tmp_path: Path, reports_csv: Path):  # type: ignore[no-untyped-def]
    store = open_datasets(tmp_path / "a.db")
    ds = create_dataset(store, "cxr", Task.REPORT_LABELS, files=[reports_csv]).dataset
    return store, ds, store.items(ds)


def test_answers_flow_into_exports_and_agreement(tmp_path: Path, reports_csv: Path) -> None:
    store, ds, items = _made(tmp_path, reports_csv)
    assign(store, ds, ["ann1", "ann2"])
    eff = items[0]
    i = next(k for k, p in enumerate(eff.proposals) if p.label == "Pleural Effusion")
    # ann1 flips the effusion to uncertain, ann2 accepts it: a disagreement
    store.save(ds, Annotation(eff.id, "ann1", Role.ANNOTATOR, (decide(eff, i, Action.FLIP),), 4.0))
    store.save(
        ds, Annotation(eff.id, "ann2", Role.ANNOTATOR, (decide(eff, i, Action.ACCEPT),), 2.0)
    )
    # both reject the pneumonia of item 2: agreed
    pn = items[1]
    j = next(k for k, p in enumerate(pn.proposals) if p.label == "Pneumonia")
    for who in ("ann1", "ann2"):
        store.save(ds, Annotation(pn.id, who, Role.ANNOTATOR, (decide(pn, j, Action.REJECT),), 3.0))
    res = resolve(items, store.annotations(ds))
    assert res.how[eff.id] == "disputed" and res.labels[eff.id]["Pleural Effusion"] == 1.0
    assert res.how[pn.id] == "agreed" and res.labels[pn.id].get("Pneumonia") is None
    assert res.disputed == (eff.id,)
    # the third reader gets only the disagreement, and settles it
    assert assign_adjudicator(store, ds, "judge") == 1
    store.save(
        ds, Annotation(eff.id, "judge", Role.ADJUDICATOR, (decide(eff, i, Action.FLIP),), 5.0)
    )
    b = bundle(store, "cxr")
    assert b.resolution.how[eff.id] == "adjudicated"
    assert b.labels(eff)["Pleural Effusion"] == -1.0
    out = tmp_path / "ds.jsonl"
    export(store, "cxr", ExportFormat.JSONL, out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["position"] for r in rows] == [1, 2, 3, 4, 5, 6]
    spans = [s for p in rows[0]["proposals"] for s in p["spans"]]
    assert {"text": "pleural effusion", "finding": "pleural_effusion"}.items() <= next(
        s for s in spans if s["finding"] == "pleural_effusion"
    ).items()
    assert rows[0]["labels"]["Pleural Effusion"] == -1.0
    assert {a["annotator"] for a in rows[0]["annotations"]} == {"ann1", "ann2", "judge"}
    import pyarrow.parquet as pq

    export(store, "cxr", ExportFormat.PARQUET, tmp_path / "ds.parquet")
    table = pq.read_table(tmp_path / "ds.parquet")
    assert table.column("position").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert table.column("Pleural Effusion").to_pylist()[0] == -1.0
    assert table.column("Pneumonia").to_pylist()[1] is None
    # regression cases: the reader said -> what the readers decided
    cases = correction_cases(bundle(store, "cxr"))
    by_id = {c.id: c for c in cases}
    assert by_id["cxr-2"].expect == {"Pneumonia": None}
    assert by_id["cxr-1"].expect == {"Pleural Effusion": -1.0}
    assert "adjudicated" in by_id["cxr-1"].note and "Pleural Effusion 1.0" in by_id["cxr-1"].note
    assert all(c.text in REPORTS for c in cases)
    suite = _regression_suite()
    for n, c in enumerate(cases):
        suite.parse_label_case(json.loads(json.dumps(c.to_dict())), f"cases:{n + 1}")
    store.close()


# Kappa cases computed by hand: two raters, four items, one label.
#   ann1: present present absent absent; ann2: present absent absent absent
#   observed 3/4; expected (2*1 + 2*3)/16 = 0.5; kappa (0.75 - 0.5) / 0.5 = 0.5
def test_kappa_table_by_hand(tmp_path: Path, reports_csv: Path) -> None:
    store, ds, items = _made(tmp_path, reports_csv)
    assign(store, ds, ["ann1", "ann2"])
    four = items[:4]
    plan = {"ann1": [1.0, 1.0, 0.0, 0.0], "ann2": [1.0, 0.0, 0.0, 0.0]}
    for who, values in plan.items():
        for it, v in zip(four, values, strict=True):
            d = _set(it, "Fracture", v)
            store.save(ds, Annotation(it.id, who, Role.ANNOTATOR, (d,), 1.0))
    table = {(k.label, k.raters, k.kind): k for k in kappa_table(ds, items, store.annotations(ds))}
    assert table[("Fracture", ("ann1", "ann2"), "cohen")].kappa == pytest.approx(0.5)
    assert table[("Fracture", ("ann1", "ann2"), "cohen")].items == 4
    # radpilot said no Fracture (blank) on all four: ann2 (one present) vs radpilot
    k = table[("Fracture", ("ann2", "radpilot"), "cohen")].kappa
    assert k == pytest.approx(
        cohen_kappa_score(["present", "absent", "absent", "absent"], ["blank"] * 4)
    )
    fleiss = table[("Fracture", ("ann1", "ann2"), "fleiss")]
    assert fleiss.items == 4 and not math.isnan(fleiss.kappa)
    store.close()


def _set(item, label: str, value: float):  # type: ignore[no-untyped-def]
    from radpilot.datasets.models import Decision

    return Decision(-1, Action.ADD, label, value)


def test_blinding_in_the_store(tmp_path: Path, reports_csv: Path) -> None:
    store, ds, items = _made(tmp_path, reports_csv)
    assign(store, ds, ["a", "b", "c"], per_item=2)
    got = store.assignments(ds)
    assert sum(len(ids) for _role, ids in got.values()) == 2 * len(items)
    not_mine = next(it for it in items if it.id not in got["c"][1])
    with pytest.raises(DatasetError, match="not assigned"):
        store.save(ds, Annotation(not_mine.id, "c", Role.ANNOTATOR, (), 1.0))
    with pytest.raises(DatasetError, match="names the proposals"):
        assign(store, ds, ["radpilot"])
    store.close()


def test_strategies(tmp_path: Path, reports_csv: Path) -> None:
    store, _ds, items = _made(tmp_path, reports_csv)
    prio = priorities(items)
    first = by_uncertainty(items)[0]
    assert prio[first.id] == max(prio.values())
    assert any(p.value == -1.0 for p in first.proposals)  # the hedged pneumonia/pneumothorax
    assert sorted(i.id for i in shuffled(items, 3)) == sorted(i.id for i in items)
    assert shuffled(items, 3) == shuffled(items, 3)
    with pytest.raises(RegistryError, match="uncertainty"):
        strategy("nosuch")
    store.close()


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12))  # fmt: skip
def test_posted_decisions_parse_or_fail_cleanly(raw: object) -> None:
    try:
        decisions_from_json(json.dumps(raw), "decisions")
    except DatasetError as exc:
        assert str(exc).startswith("decisions")


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_decisions_from_any_text(text: str) -> None:
    try:
        decisions_from_json(text, "decisions")
    except DatasetError:
        pass


def test_from_archive_and_vocabulary_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Archive reports found by a query become items (text read again by the reader); a
    vocabulary file's findings are the labels (`--labels VOCAB`)."""
    from radpilot import samples

    db = tmp_path / "a.db"
    src = tmp_path / "reports.jsonl"
    rows = [
        {"id": "A1", "text": "Small left pleural effusion.", "patient_id": "P1"},
        {"id": "A2", "text": "No effusion. Pulmonary sarcoidosis.", "patient_id": "P2"},
        {"id": "A3", "text": "Normal chest.", "patient_id": "P3"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _out, err = _cli(capsys, "archive", "add", str(src), "--db", str(db), "--jobs", "1")
    assert code == 0, err
    code, _out, err = _cli(capsys, "datasets", "create", "eff", "--from-archive", "effusion",
                           "--task", "report-labels", "--db", str(db))  # fmt: skip
    assert code == 0, err
    store = open_datasets(db, readonly=True)
    items = store.items(store.get("eff"))
    assert [it.ref for it in items] == ["A1"]  # the query means present effusion
    assert items[0].meta["patient_id"] == "P1"
    store.close()
    vocab = tmp_path / "my_findings.yaml"
    vocab.write_bytes(samples.get("my_findings.yaml").read_bytes())
    code, _out, err = _cli(capsys, "datasets", "create", "sarc", "--from-files", str(src),
                           "--task", "report-labels", "--labels", str(vocab), "--db", str(db))  # fmt: skip
    assert code == 0, err
    store = open_datasets(db, readonly=True)
    ds = store.get("sarc")
    assert ds.labels == ("sarcoidosis", "hiatal_hernia") and ds.label_set == "my_findings.yaml"
    got = [it.radpilot_labels() for it in store.items(ds)]
    assert got == [{}, {"sarcoidosis": 1.0}, {}]
    store.close()


def test_pair_disagreement_comes_first() -> None:
    """Reader and image model disagreeing on a pair outranks an item where they agree."""
    from radpilot.datasets.models import Item, ItemKind, Proposal

    def pair(i: int, image_value: float) -> Item:
        reader = Proposal("Pneumonia", 0.0, "reader")
        image = Proposal("Pneumonia", image_value, "image", score=0.95, threshold=0.5)
        return Item(i, i, ItemKind.PAIR, f"P{i}", "No pneumonia.", "x.png", {}, (reader, image))

    agree, disagree = pair(1, 0.0), pair(2, 1.0)
    assert by_uncertainty([agree, disagree])[0] is disagree
    assert priorities([agree, disagree])[2] - priorities([agree, disagree])[1] == pytest.approx(2.0)


def test_a_pair_keeps_the_readers_label() -> None:
    from radpilot.datasets.models import Item, ItemKind, Proposal

    reader = Proposal("Pneumonia", 1.0, "reader")
    image = Proposal("Pneumonia", 0.0, "image", score=0.1, threshold=0.5)
    # the image model's proposal after the reader's: it must not override it
    extra = Proposal("Cardiomegaly", 1.0, "image", score=0.9, threshold=0.5)
    it = Item(1, 1, ItemKind.PAIR, "P", "Pneumonia.", "x.png", {}, (reader, image, extra))
    assert it.radpilot_labels() == {"Pneumonia": 1.0, "Cardiomegaly": 1.0}
    assert it.radpilot_labels("image") == {"Pneumonia": 0.0, "Cardiomegaly": 1.0}

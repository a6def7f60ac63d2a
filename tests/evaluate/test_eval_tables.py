"""The one input validator: bad files, rows and cells give one-line errors that name them
(never their content); unmatched ids and columns are reported, never dropped silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radpilot.datafiles import parse
from radpilot.errors import InputError, VocabularyError
from radpilot.evaluate import datasets
from radpilot.evaluate.classification import evaluate
from radpilot.evaluate.matching import MissingValuesError, align
from radpilot.evaluate.tables import (
    BlankPolicy,
    UncertainPolicy,
    gold_labels,
    read_table,
)
from radpilot.evaluate.thresholds import load_thresholds
from radpilot.reports.labelnames import canonical_finding


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


GOOD_GOLD = "id,Effusion,sex\na,1,F\nb,0,M\nc,1,F\nd,0,M\n"
GOOD_PRED = "id,Pleural Effusion\na,0.9\nb,0.1\nc,0.4\nd,0.6\n"


@pytest.mark.parametrize(
    ("gold", "pred", "kwargs", "message"),
    [
        (GOOD_GOLD, "ID,Pleural Effusion\na,0.9\n", {}, "no id column 'id'; its columns are 'ID'"),
        (GOOD_GOLD, "id,Pleural Effusion\na,0.9\na,0.2\n", {}, "line 3 has the same id as line 2"),
        (GOOD_GOLD, "id,Pleural Effusion\na,0.9\n ,0.2\n", {}, "line 3: the id is blank"),
        (
            "id,Effusion\na,1\nb,0.5\n",
            GOOD_PRED,
            {},
            "gold.csv: line 3, column 'Effusion': not one of 1, 0, -1 or blank",
        ),
        (GOOD_GOLD, "id,Pleural Effusion\na,high\nb,0.1\n", {}, "line 2, column .*: not a number"),
        (GOOD_GOLD, "id,Pleural Effusion\na,inf\nb,0.1\n", {}, "line 2, column .*: infinite"),
        (
            GOOD_GOLD,
            "id,Pleural Effusion\na,0.9\nb,1.5\nc,-0.1\nd,0.2\n",
            {},
            r"pred.csv: line 3, column 'Pleural Effusion': outside \[0, 1\] \(1 more such cell",
        ),
        (
            GOOD_GOLD,
            "id,Pleural Effusion\na,-1\nb,0.1\nc,0.2\nd,0.3\n",
            {},
            "outside .*-1 is a labeler's 'uncertain'",
        ),
        (GOOD_GOLD, "id,Edema\na,0.9\n", {}, "no finding column in common"),
        (
            GOOD_GOLD,
            "id,Effusion,Pleural_Effusion\na,0.9,0.9\n",
            {},
            "columns 'Effusion' and 'Pleural_Effusion' both mean 'Pleural Effusion'",
        ),
        (GOOD_GOLD, "id,Pleural Effusion\nx,0.9\ny,0.1\n", {}, "share no ids"),
        (GOOD_GOLD, GOOD_PRED, {"subgroups": ["site"]}, "no subgroup column 'site'"),
        (GOOD_GOLD, GOOD_PRED, {"findings": ["Edema"]}, "finding 'Edema' is not a column"),
        (GOOD_GOLD, GOOD_PRED, {"uncertain": "maybe"}, "uncertain must be one of ones, zeros"),
        (GOOD_GOLD, GOOD_PRED, {"at_sensitivity": [1.5]}, r"at_sensitivity must be in \(0, 1\]"),
        (GOOD_GOLD, GOOD_PRED, {"n_resamples": -1}, "n_resamples must be 0"),
        (GOOD_GOLD, GOOD_PRED, {"thresholds": {"Edema": 0.3}}, "'Edema' is not an evaluated"),
        (GOOD_GOLD, GOOD_PRED, {"thresholds": 1.5}, r"threshold must be in \[0, 1\]"),
        ("", GOOD_PRED, {}, "gold.csv: the file is empty"),
        (" \n\n", GOOD_PRED, {}, "gold.csv: the file is empty"),
        ("id,Effusion\n", GOOD_PRED, {}, "no rows"),
        (GOOD_GOLD, "id,Pleural Effusion\na,0.9\nb,0.1,7\n", {}, "line 3 has 3 field"),
        (GOOD_GOLD, "id,Pleural Effusion\na,0.9\nb\n", {}, "line 3 has 1 field"),
        (
            GOOD_GOLD,
            'id,Pleural Effusion\na,0.9\nb,"0.1\nc,0.4\nd,0.6\n',
            {},
            "line 3: a quoted field opened here is never closed",
        ),
        (GOOD_GOLD, 'id,Pleural Effusion\na,"0.9"x\n', {}, "line 2: not valid CSV"),
        (GOOD_GOLD, "id,Pleural Effusion,id\na,0.9,a\n", {}, "names columns 1 and 3 the same"),
        (GOOD_GOLD, b"id,Pleural Effusion\na,0.9\nb\xe9,0.1\n", {}, "line 3 is not UTF-8 text"),
        (GOOD_GOLD, b"id,Pleural Effusion\na,0.9\x00\n", {}, "line 2 holds a NUL byte"),
        (
            GOOD_GOLD,
            "id,Pleural Effusion\na,0.9\nb,0.1\nc,\nd,nan\n",
            {},
            "2 gold case.* no prediction for 'Pleural Effusion' .first: .*line 4 is blank",
        ),
        (
            GOOD_GOLD,
            "id,Pleural Effusion\na,0.9\nb,0.1\n",
            {},
            "2 gold case.*no prediction .*first: .*gold.csv line 4 has no row in .*pred.csv",
        ),
    ],
)
def test_bad_inputs_give_one_line_errors(
    tmp_path: Path, gold: str, pred: str, kwargs: dict, message: str
) -> None:
    g, p = write(tmp_path, "gold.csv", gold), write(tmp_path, "pred.csv", pred)
    with pytest.raises(InputError, match=message) as info:
        evaluate(g, p, n_resamples=kwargs.pop("n_resamples", 10), **kwargs)
    assert "\n" not in str(info.value)


def test_utf16_and_bom_files_are_read(tmp_path: Path) -> None:
    g = write(tmp_path, "gold.csv", GOOD_GOLD.encode("utf-16"))
    p = write(tmp_path, "pred.csv", b"\xef\xbb\xbf" + GOOD_PRED.encode("utf-8"))
    res = evaluate(g, p, n_resamples=0)
    assert res.metrics["findings"]["Pleural Effusion"]["auroc"] == pytest.approx(0.75)


def test_cell_contents_and_header_text_never_reach_messages(tmp_path: Path) -> None:
    # A headerless labeler file: its first row, a report, becomes the "header".
    report = "Heart size is normal and the lungs are clear of disease"
    g = write(tmp_path, "gold.csv", f"{report},1.0\nSmall effusion.,1.0\n")
    p = write(tmp_path, "pred.csv", "id,Edema\n7,1\n")
    with pytest.raises(InputError) as info:
        evaluate(g, p, n_resamples=0)
    assert "no id column 'id'; its columns are column 1, '1.0'" in str(info.value)
    secret = "ACC123456"
    g = write(tmp_path, "gold2.csv", f"id,Edema\n{secret},1\nb,x{secret}\n")
    p = write(tmp_path, "pred2.csv", f"id,Edema\nb,0.5\n{secret},0.5\n{secret},1\n")
    with pytest.raises(InputError) as info:
        evaluate(g, p, n_resamples=0)
    assert secret not in str(info.value) and "line 4 has the same id as line 3" in str(info.value)
    p = write(tmp_path, "pred2.csv", f"id,Edema\nb,0.5\n{secret},0.5\n")
    with pytest.raises(InputError) as info:
        evaluate(g, p, n_resamples=0)
    assert secret not in str(info.value) and "line 3" in str(info.value)


def test_allow_missing_leaves_cases_out_and_counts_them(tmp_path: Path) -> None:
    g = write(tmp_path, "gold.csv", GOOD_GOLD + "e,1,F\nf,0,F\n")
    p = write(tmp_path, "pred.csv", "id,Pleural Effusion\na,0.9\nb,0.1\nc,\nd,0.6\ne,0.7\n")
    with pytest.raises(MissingValuesError, match="2 gold case"):
        evaluate(g, p, n_resamples=0)
    res = evaluate(g, p, n_resamples=0, allow_missing=True)
    r = res.metrics["findings"]["Pleural Effusion"]
    assert (r["n"], r["n_missing_pred"]) == (4, 2)
    missing = res.metrics["missing"]
    assert missing["allowed"] is True and missing["n_values"] == 2
    (entry,) = missing["values"]
    assert (entry["no_row"], entry["blank"], entry["finding"]) == (1, 1, "Pleural Effusion")
    assert entry["first_at"].endswith("pred.csv line 4 is blank")
    (warning,) = res.metrics["warnings"]
    assert "2 gold case(s) without a prediction left out of 'Pleural Effusion'" in warning


def test_unusable_gold_needs_no_prediction(tmp_path: Path) -> None:
    # A gold case the policies leave out (uncertain, blank) needs no prediction.
    g = write(tmp_path, "gold.csv", "id,Edema\na,1\nb,0\nc,-1\nd,\ne,1\nf,0\n")
    p = write(tmp_path, "pred.csv", "id,Edema\na,0.9\nb,0.1\nc,\ne,0.8\nf,0.3\n")
    res = evaluate(g, p, n_resamples=0, blank="ignore")
    assert res.metrics["missing"]["n_values"] == 0
    assert res.metrics["findings"]["Edema"]["n"] == 4


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv", name="gold")


def test_missing_ids_and_columns_are_reported(tmp_path: Path) -> None:
    g = write(tmp_path, "gold.csv", GOOD_GOLD + "e,1,F\nf,0,F\n")
    p = write(
        tmp_path,
        "pred.csv",
        "id,Pleural Effusion,Extra\na,0.9,1\nb,0.1,1\nc,0.4,1\nz,0.3,1\nd,0.6,1\n",
    )
    res = evaluate(g, p, n_resamples=20, allow_missing=True)
    m = res.metrics["matching"]
    assert m["n_matched"] == 4
    assert m["missing_in_pred"] == {"count": 2, "first_at": ["line 6", "line 7"]}
    assert m["missing_in_gold"] == {"count": 1, "first_at": ["line 5"]}
    assert m["pred_only_columns"] == ["Extra"]
    assert m["gold_only_columns"] == ["sex"]
    assert res.metrics["notes"] == [
        f"{p}: 1 row(s) whose id is not in {g}, not scored (first at line 5)",
        f"{g}: column(s) not in {p}, not scored: sex",
        f"{p}: column(s) not in {g}, not scored: Extra",
    ]


@pytest.mark.parametrize(
    ("policy", "blank", "expected"),
    [
        (UncertainPolicy.ONES, BlankPolicy.ZEROS, [1, 0, 1, 0]),
        (UncertainPolicy.ZEROS, BlankPolicy.ZEROS, [1, 0, 0, 0]),
        (UncertainPolicy.IGNORE, BlankPolicy.ZEROS, [1, 0, np.nan, 0]),
        (UncertainPolicy.ONES, BlankPolicy.IGNORE, [1, 0, 1, np.nan]),
    ],
)
def test_uncertainty_policies(policy: UncertainPolicy, blank: BlankPolicy, expected: list) -> None:
    got, counts = gold_labels(np.array([1.0, 0.0, -1.0, np.nan]), uncertain=policy, blank=blank)
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))
    assert counts == {"n_uncertain": 1, "n_blank": 1}


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Effusion", "Pleural Effusion"),
        ("pleural_effusion", "Pleural Effusion"),
        ("Pleural_Thickening", "Pleural Thickening"),
        ("Airspace opacity", "Lung Opacity"),
        ("Nodule/Mass", "Nodule or Mass"),
        ("normal", "No Finding"),
        ("Something New", "Something New"),
    ],
)
def test_synonyms(name: str, canonical: str) -> None:
    assert canonical_finding(name) == canonical


def test_datasets_file_is_read_strictly() -> None:
    raw = datasets.DATASETS.raw()
    raw["datasets"]["nih"]["colour"] = "red"
    with pytest.raises(VocabularyError, match=r"datasets.nih.colour: unknown key; allowed: descr"):
        parse(raw, datasets.DatasetsFile, "datasets.json")
    raw = datasets.DATASETS.raw()
    del raw["datasets"]["nih"]["label_column"]
    with pytest.raises(VocabularyError, match="format 'pipe_labels' needs 'label_column'"):
        parse(raw, datasets.DatasetsFile, "datasets.json")
    raw = datasets.DATASETS.raw()
    raw["age_bands"][0]["low"] = 30
    with pytest.raises(VocabularyError, match="low 30 is above high 17"):
        parse(raw, datasets.DatasetsFile, "datasets.json")
    with pytest.raises(InputError, match="unknown dataset 'mimic'; valid names: chexpert-train"):
        datasets.dataset_spec("mimic")
    band = datasets.age_bands()[0]
    assert (band.low, band.high, band.label) == (0, 17, "0-17")


def test_thresholds_from_files(tmp_path: Path) -> None:
    flat = write(tmp_path, "t.json", '{"Effusion": 0.3}')
    card = write(
        tmp_path, "card.json", '{"name": "m", "thresholds": {"Edema": 0.7, "Hernia": 0.1}}'
    )
    bad = write(tmp_path, "bad.json", '{"Edema": "high"}')
    wide = write(tmp_path, "wide.json", '{"Edema": 7}')
    broken = write(tmp_path, "broken.json", "{")
    findings = ["Pleural Effusion", "Edema"]
    assert load_thresholds(flat, findings) == {"Pleural Effusion": 0.3, "Edema": 0.5}
    assert load_thresholds(card, findings) == {"Pleural Effusion": 0.5, "Edema": 0.7}
    assert load_thresholds(0.2, findings) == {"Pleural Effusion": 0.2, "Edema": 0.2}
    with pytest.raises(InputError, match="must be a number"):
        load_thresholds(bad, findings)
    with pytest.raises(
        InputError, match=r"wide.json: the threshold of 'Edema' must be in \[0, 1\]"
    ):
        load_thresholds(wide, findings)
    with pytest.raises(InputError, match="not valid JSON"):
        load_thresholds(broken, findings)
    with pytest.raises(InputError, match=r"nope\.json: no such file"):
        load_thresholds(tmp_path / "nope.json", findings)


def test_align_keeps_gold_order() -> None:
    g = read_table({"id": ["c", "a", "b", "e"], "x": [1, 0, 1, 0]}, name="gold")
    p = read_table({"id": ["a", "b", "c", "d"], "x": [0.1, 0.2, 0.3, 0.4]}, name="pred")
    al = align(g, p)
    assert al.rows.tolist() == [2, 0, 1, -1] and al.extra == [3]
    assert al.take(p.numeric("x"))[:3].tolist() == [0.3, 0.1, 0.2]
    assert al.summary("gold", "pred")["missing_in_pred"] == {"count": 1, "first_at": ["row 4"]}

"""The one input validator: bad files, rows and cells give one-line errors that name them;
unmatched ids and columns are reported, never dropped silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radpilot.errors import InputError, VocabularyError
from radpilot.evaluate import vocab
from radpilot.evaluate.classification import evaluate, load_thresholds
from radpilot.evaluate.tables import (
    BlankPolicy,
    UncertainPolicy,
    gold_labels,
    match_ids,
    read_table,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD_GOLD = "id,Effusion,sex\na,1,F\nb,0,M\nc,1,F\nd,0,M\n"
GOOD_PRED = "id,Pleural Effusion\na,0.9\nb,0.1\nc,0.4\nd,0.6\n"


@pytest.mark.parametrize(
    ("gold", "pred", "kwargs", "message"),
    [
        (GOOD_GOLD, "ID,Pleural Effusion\na,0.9\n", {}, "no id column 'id'"),
        (GOOD_GOLD, "id,Pleural Effusion\na,0.9\na,0.2\n", {}, "id 'a' appears twice"),
        ("id,Effusion\na,1\nb,0.5\n", GOOD_PRED, {}, "not 1 / 0 / -1 or blank, first at line 3"),
        (GOOD_GOLD, "id,Pleural Effusion\na,high\nb,0.1\n", {}, r"line 2 \('high'\)"),
        (GOOD_GOLD, "id,Edema\na,0.9\n", {}, "no finding column in common"),
        (
            GOOD_GOLD,
            "id,Effusion,Pleural_Effusion\na,0.9,0.9\n",
            {},
            "both mean 'Pleural Effusion'",
        ),
        (GOOD_GOLD, "id,Pleural Effusion\nx,0.9\ny,0.1\n", {}, "share no ids"),
        (GOOD_GOLD, GOOD_PRED, {"subgroups": ["site"]}, "no subgroup column 'site'"),
        (GOOD_GOLD, GOOD_PRED, {"findings": ["Edema"]}, "finding 'Edema' is not a column"),
        (GOOD_GOLD, GOOD_PRED, {"uncertain": "maybe"}, "--uncertain must be one of ones, zeros"),
        (GOOD_GOLD, GOOD_PRED, {"at_sensitivity": [1.5]}, r"--at-sensitivity must be in \(0, 1\]"),
        (GOOD_GOLD, GOOD_PRED, {"n_resamples": -1}, "--bootstrap must be 0"),
        (GOOD_GOLD, GOOD_PRED, {"thresholds": {"Edema": 0.3}}, "'Edema' is not an evaluated"),
        ("", GOOD_PRED, {}, "not a readable CSV"),
        ("id,Effusion\n", GOOD_PRED, {}, "no rows"),
    ],
)
def test_bad_inputs_give_one_line_errors(
    tmp_path: Path, gold: str, pred: str, kwargs: dict, message: str
) -> None:
    g, p = write(tmp_path, "gold.csv", gold), write(tmp_path, "pred.csv", pred)
    with pytest.raises(InputError, match=message) as info:
        evaluate(g, p, n_resamples=kwargs.pop("n_resamples", 10), **kwargs)
    assert "\n" not in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv", name="gold")


def test_missing_ids_and_columns_are_reported(tmp_path: Path) -> None:
    g = write(tmp_path, "gold.csv", GOOD_GOLD + "e,1,F\nf,0,F\n")
    p = write(tmp_path, "pred.csv", GOOD_PRED + "z,0.3\n" + "")
    p2 = write(
        tmp_path,
        "pred2.csv",
        p.read_text()
        .replace("Pleural Effusion", "Pleural Effusion,Extra")
        .replace("\n", ",1\n")
        .replace("Extra,1", "Extra"),
    )
    res = evaluate(g, p2, n_resamples=20)
    m = res.metrics["matching"]
    assert m["n_matched"] == 4
    assert m["missing_in_pred"] == {"count": 2, "first": ["e", "f"]}
    assert m["missing_in_gold"] == {"count": 1, "first": ["z"]}
    assert m["pred_only_columns"] == ["Extra"]
    assert m["gold_only_columns"] == ["sex"]


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
    assert vocab.canonical_finding(name) == canonical


def test_strict_loaders_and_registries() -> None:
    with pytest.raises(VocabularyError, match=r"unknown key\(s\) \['colour'\]; allowed keys"):
        vocab._check_keys("x.json", {"file": 1, "colour": 2}, {"file"}, set())
    with pytest.raises(InputError, match="unknown dataset 'mimic'; valid names: chexpert-train"):
        vocab.dataset_spec("mimic")
    assert vocab.age_bands()[0] == (0, 17, "0-17")


def test_thresholds_from_files(tmp_path: Path) -> None:
    flat = write(tmp_path, "t.json", '{"Effusion": 0.3}')
    card = write(
        tmp_path, "card.json", '{"name": "m", "thresholds": {"Edema": 0.7, "Hernia": 0.1}}'
    )
    bad = write(tmp_path, "bad.json", '{"Edema": "high"}')
    broken = write(tmp_path, "broken.json", "{")
    findings = ["Pleural Effusion", "Edema"]
    assert load_thresholds(flat, findings) == {"Pleural Effusion": 0.3, "Edema": 0.5}
    assert load_thresholds(card, findings) == {"Pleural Effusion": 0.5, "Edema": 0.7}
    assert load_thresholds(0.2, findings) == {"Pleural Effusion": 0.2, "Edema": 0.2}
    with pytest.raises(InputError, match="must be a number"):
        load_thresholds(bad, findings)
    with pytest.raises(InputError, match="not valid JSON"):
        load_thresholds(broken, findings)


def test_match_ids_keeps_gold_order() -> None:
    g = read_table({"id": ["c", "a", "b"], "x": [1, 0, 1]}, name="gold")
    p = read_table({"id": ["a", "b", "c", "d"], "x": [0.1, 0.2, 0.3, 0.4]}, name="pred")
    m = match_ids(g, p)
    assert m.ids == ["c", "a", "b"] and m.right_rows.tolist() == [2, 0, 1]
    assert m.missing_in_left == ["d"]

"""Report-text metrics (BLEU against nltk, finding F1) and the dataset adapters."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from radpilot.errors import InputError
from radpilot.evaluate import datasets
from radpilot.evaluate.matching import MissingValuesError
from radpilot.evaluate.text_metrics import (
    bleu_from_statistics,
    bleu_statistics,
    evaluate_reports,
    nltk_bleu,
    tokenize,
)

REF = [
    "FINDINGS: Small right pleural effusion. No pneumothorax. IMPRESSION: Right effusion.",
    "IMPRESSION: Cardiomegaly. No focal consolidation.",
    "IMPRESSION: Normal chest.",
]
HYP = [
    "FINDINGS: Small left pleural effusion. No pneumothorax. IMPRESSION: Left effusion.",
    "IMPRESSION: The heart is enlarged. No focal consolidation.",
    "IMPRESSION: Normal chest.",
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bleu_statistics_reproduce_nltk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    words = ["heart", "lungs", "clear", "no", "effusion", "normal", "size", "left"]
    refs = [list(rng.choice(words, rng.integers(0, 12))) for _ in range(25)]
    hyps = [list(rng.choice(words, rng.integers(0, 12))) for _ in range(25)]
    sums = bleu_statistics(refs, hyps).sum(axis=0)[None, :]
    expected = nltk_bleu(refs, hyps)
    for n in range(1, 5):
        assert bleu_from_statistics(sums, n)[0] == pytest.approx(expected[f"bleu_{n}"], abs=1e-12)


def test_report_metrics(tmp_path: Path) -> None:
    ref = tmp_path / "ref.jsonl"
    ref.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(REF)))
    hyp = {"id": ["0", "1", "2", "9"], "text": [*HYP, "extra"]}
    res = evaluate_reports(ref, hyp, n_resamples=100)
    m = res.metrics["metrics"]
    assert res.metrics["matching"]["missing_in_ref"]["count"] == 1
    assert 0 < m["bleu_4"] < m["bleu_1"] < 1
    assert 0 < m["rouge_l"] < 1
    # Laterality differs in the first pair: the effusion tuple must not match there.
    assert m["finding_precision"] < 1
    assert res.metrics["clinical_labels"]["Pleural Effusion"]["tp"] == 1
    identical = evaluate_reports(
        {"id": ["a"], "text": [REF[0]]}, {"id": ["a"], "text": [REF[0]]}, n_resamples=0
    )
    assert identical.metrics["metrics"]["finding_f1"] == 1.0
    assert identical.metrics["metrics"]["bleu_4"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "1", "text": "a"}\nnot json\n', "line 2 is not valid JSON"),
        ('{"id": "1"}\n', "line 1: 'text' must be a string, got nothing"),
        ('{"id": "1", "text": null}\n', "line 1: 'text' must be a string, got null"),
        ('{"id": {"a": 1}, "text": "x"}\n', "line 1: 'id' must be a string, got an object"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ("[" * 5000 + "]" * 5000 + "\n", "line 1 is nested too deeply"),
        ("\n\n", "the file has no records"),
        (
            '{"id": "1", "text": "a"}\n{"id": "1", "text": "b"}\n',
            "line 2 has the same id as line 1",
        ),
    ],
)
def test_bad_jsonl(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "hyp.jsonl"
    p.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        evaluate_reports(p, p, n_resamples=0)
    assert "\n" not in str(info.value)


def test_every_reference_needs_a_hypothesis(tmp_path: Path) -> None:
    ref = {"id": ["a", "b", "c"], "text": REF}
    hyp = {"id": ["a", "c"], "text": HYP[:2]}
    with pytest.raises(MissingValuesError, match=r"1 gold case.* no generated report"):
        evaluate_reports(ref, hyp, n_resamples=0)
    res = evaluate_reports(ref, hyp, n_resamples=0, allow_missing=True)
    assert res.metrics["n"] == 2 and res.metrics["missing"]["n_values"] == 1


def test_tokenizer() -> None:
    assert tokenize("No  pneumothorax, 3.5 cm.") == ["no", "pneumothorax", "3", "5", "cm"]


def _gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def test_dataset_adapters_on_small_tables(tmp_path: Path) -> None:
    nih = _gz(
        tmp_path / "nih.csv.gz",
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position\n"
        "a.png,Effusion|Mass,0,1,57,M,PA\nb.png,No Finding,0,2,15,F,AP\n",
    )
    frame = datasets.load_gold("nih", path=nih)
    assert frame.loc[0, "Pleural Effusion"] == 1 and frame.loc[0, "Mass"] == 1
    assert frame.loc[1, "No Finding"] == 1 and frame.loc[1, "age_band"] == "0-17"
    assert list(frame["sex"]) == ["M", "F"]
    google = _gz(
        tmp_path / "g.csv.gz",
        "Image Index,Patient ID,Patient Age,Patient Gender,View Position,Fracture,Pneumothorax,"
        "Airspace opacity,Nodule or mass,Set Id\na.png,1,50,F,PA,NO,YES,MAYBE,NO,test\n",
    )
    with pytest.raises(
        InputError, match=r"line 2, column 'Airspace opacity': not YES, NO or blank \(1 such"
    ):
        datasets.load_gold("nih-google2019", path=google)
    with pytest.raises(InputError, match="missing column"):
        datasets.load_gold("chexpert-train", path=nih)


def test_dataset_from_the_wheel_scores_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    try:
        datasets.wheel_data_dir()
    except InputError:
        pytest.skip("torchxrayvision is not installed")
    summary = datasets.write_gold("nih-google2019", tmp_path / "gold.csv")
    assert summary["rows"] == 4376 and "Lung Opacity" in summary["findings"]
    import pandas as pd

    from radpilot.evaluate.classification import evaluate

    gold = pd.read_csv(tmp_path / "gold.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    y = gold["Pneumothorax"].astype(int).to_numpy()
    pred = {
        "id": gold["id"].tolist(),
        "Pneumothorax": (0.3 * y + 0.7 * rng.random(len(y))).tolist(),
    }
    res = evaluate(tmp_path / "gold.csv", pred, subgroups=["sex", "view"], n_resamples=50)
    assert res.metrics["findings"]["Pneumothorax"]["n"] == 4376
    assert set(res.metrics["subgroups"]["view"]) == {"AP", "PA"}

"""Derived sample files stay what radpilot computes from their sources."""

from __future__ import annotations

import csv

from radpilot import samples
from radpilot.commands.demos.evaluate import pneumoniamnist_scores


def _rows(name: str) -> list[list[str]]:
    with samples.get(name).open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_shipped_scores_are_the_embedded_model_s_predictions() -> None:
    ids, labels, probs, _ = pneumoniamnist_scores()
    gold = _rows("pneumoniamnist_test_gold.csv")
    scores = _rows("pneumoniamnist-v1_test_scores.csv")
    assert gold[0] == scores[0] == ["id", "Pneumonia"]
    assert gold[1:] == [[i, str(y)] for i, y in zip(ids, labels, strict=True)]
    assert [r[0] for r in scores[1:]] == ids
    assert max(abs(float(r[1]) - p) for r, p in zip(scores[1:], probs, strict=True)) < 1e-6

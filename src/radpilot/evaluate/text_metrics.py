"""Generated report text against reference reports.

- BLEU-1…4: nltk's ``corpus_bleu`` on lower-cased word tokens (``[a-z0-9]+``; punctuation
  dropped), smoothing ``SmoothingFunction().method1`` (an n-gram order with no match counts
  0.1 matches instead of zero). Intervals re-use each report's n-gram counts (the statistics
  corpus BLEU sums), so each resample's BLEU is exact without re-running nltk.
- ROUGE-L: the F-measure of ``rouge_score`` (no stemming), averaged over reports.
- Clinical efficacy F1 (what ReXrank and R2Gen-style papers call CheXbert/CE F1; radpilot's
  own reader stands in for CheXbert): both texts are read by ``radpilot.reports.read`` and
  labelled with the 14 CheXpert labels; positive = 1.0; uncertain (-1.0) counts as negative
  unless ``uncertain_as_positive``. Micro F1 over the 14, macro F1 over labels the references
  contain, and micro F1 over the 5 labels of the CheXpert competition.
- Finding F1 (radpilot's answer to RadGraph-F1): each report's mentions as
  (finding id, certainty, laterality) tuples; a hypothesis tuple is correct when the
  reference has the same tuple. Hypothetical mentions are left out, as for labels.

Intervals: reports resampled with replacement (percentile).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate.inputs import read_jsonl
from radpilot.evaluate.matching import Accounting, align, find_missing
from radpilot.evaluate.tables import Table, TableSource, read_table, table_from_records

_TOKEN = re.compile(r"[a-z0-9]+")
BLEU_EPSILON = 0.1  # nltk SmoothingFunction().method1's default
COMPETITION_5 = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")
Array = NDArray[np.float64]


@dataclass
class TextResult:
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.metrics


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def read_texts(source: TableSource, *, name: str, id_column: str, text_column: str) -> Table:
    """A CSV (or DataFrame / dict) or a JSONL file of id + text."""
    if isinstance(source, str | Path) and str(source).endswith((".jsonl", ".ndjson")):
        records = read_jsonl(Path(source), (id_column, text_column))
        table = table_from_records(records, id_column=id_column, by_order=False)
    else:
        table = read_table(source, name=name, id_column=id_column)
    if text_column not in table.columns:
        raise InputError(
            f"{table.name}: no text column '{text_column}'; its columns are "
            f"{table.shown_columns()} (name the text column)"
        )
    return table


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_statistics(refs: Sequence[list[str]], hyps: Sequence[list[str]]) -> Array:
    """(reports x 10): clipped matches and totals for n = 1..4, hypothesis and reference
    length: the sums corpus BLEU is made of (nltk's ``modified_precision`` per report)."""
    out = np.zeros((len(hyps), 10))
    for i, (r, h) in enumerate(zip(refs, hyps, strict=True)):
        for n in range(1, 5):
            hc, rc = _ngrams(h, n), _ngrams(r, n)
            out[i, n - 1] = sum(min(c, rc[g]) for g, c in hc.items())
            out[i, 3 + n] = max(1, sum(hc.values()))
        out[i, 8], out[i, 9] = len(h), len(r)
    return out


def bleu_from_statistics(sums: Array, order: int) -> Array:
    """Corpus BLEU-``order`` (uniform weights, method1 smoothing) per row of summed stats."""
    matches, totals = sums[:, :order], sums[:, 4 : 4 + order]
    hyp_len, ref_len = sums[:, 8], sums[:, 9]
    p = np.where(matches == 0, BLEU_EPSILON, matches) / totals
    score = np.exp(np.log(p).mean(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(hyp_len > ref_len, 1.0, np.exp(1 - ref_len / np.maximum(hyp_len, 1e-300)))
    bp = np.where(hyp_len == 0, 0.0, bp)
    # nltk returns 0 when not a single unigram matches.
    return np.where(sums[:, 0] == 0, 0.0, bp * score)


def nltk_bleu(refs: Sequence[list[str]], hyps: Sequence[list[str]]) -> dict[str, float]:
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    smooth = SmoothingFunction().method1
    out = {}
    for n in range(1, 5):
        weights = tuple([1.0 / n] * n)
        out[f"bleu_{n}"] = float(
            corpus_bleu([[r] for r in refs], list(hyps), weights=weights, smoothing_function=smooth)
        )
    return out


def _mention_tuples(report: Any) -> set[tuple[str, str, str]]:
    return {
        (m.finding, m.certainty.value, m.laterality.value if m.laterality else "")
        for m in report.mentions
        if not m.hypothetical
    }


def _f1(tp: Array, fp: Array, fn: Array) -> Array:
    den = 2 * tp + fp + fn
    out = np.full(np.shape(tp), np.nan)
    np.divide(2 * tp, den, out=out, where=den > 0)
    return out


@dataclass(frozen=True)
class _PerReport:
    """What every metric sums over reports, one row per report pair."""

    bleu: Array  # (n, 10): see bleu_statistics
    rouge: Array  # (n,) ROUGE-L F-measure
    ce: Array  # (n, labels, 3): tp, fp, fn of each clinical label
    finding: Array  # (n, 3): matched tuples, hypothesis tuples, reference tuples
    ref_has: NDArray[np.bool_]  # labels the references contain at all

    def stats(self, w: Array) -> dict[str, Array]:
        """All metrics for rows of case weights w (B x n)."""
        out: dict[str, Array] = {}
        sums = w @ self.bleu
        for k in range(1, 5):
            out[f"bleu_{k}"] = bleu_from_statistics(sums, k)
        out["rouge_l"] = (w @ self.rouge) / w.sum(axis=1)
        c = np.einsum("bn,nlk->blk", w, self.ce)
        tp, fp, fn = c[:, :, 0], c[:, :, 1], c[:, :, 2]
        five = [_labels().index(x) for x in COMPETITION_5]
        out["ce_micro_f1"] = _f1(tp.sum(1), fp.sum(1), fn.sum(1))
        # Labels a resample leaves without any case have no F1 there: left out of the mean.
        out["ce_macro_f1"] = bs.nanmean_rows(_f1(tp, fp, fn)[:, self.ref_has])
        out["ce_micro_f1_5"] = _f1(tp[:, five].sum(1), fp[:, five].sum(1), fn[:, five].sum(1))
        fs = w @ self.finding
        out["finding_precision"] = np.where(
            fs[:, 1] > 0, fs[:, 0] / np.maximum(fs[:, 1], 1), np.nan
        )
        out["finding_recall"] = np.where(fs[:, 2] > 0, fs[:, 0] / np.maximum(fs[:, 2], 1), np.nan)
        out["finding_f1"] = _f1(fs[:, 0], fs[:, 1] - fs[:, 0], fs[:, 2] - fs[:, 0])
        return out


def _labels() -> list[str]:
    from radpilot.reports.labels import CHEXPERT_LABELS

    return list(CHEXPERT_LABELS)


def _per_report(
    refs: Sequence[str], hyps: Sequence[str], *, uncertain_as_positive: bool
) -> _PerReport:
    from rouge_score import rouge_scorer

    from radpilot.reports import read
    from radpilot.reports.labels import chexpert

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = np.array(
        [scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(refs, hyps, strict=True)]
    )
    positive = {1.0, -1.0} if uncertain_as_positive else {1.0}
    labels = _labels()
    ce = np.zeros((len(refs), len(labels), 3))
    finding = np.zeros((len(refs), 3))
    for i, (r, h) in enumerate(zip(refs, hyps, strict=True)):
        rr, hr = read(r), read(h)
        rl, hl = chexpert(rr), chexpert(hr)
        for j, lab in enumerate(labels):
            a, b = rl.get(lab) in positive, hl.get(lab) in positive
            ce[i, j] = (a and b, b and not a, a and not b)
        rset, hset = _mention_tuples(rr), _mention_tuples(hr)
        finding[i] = (len(rset & hset), len(hset), len(rset))
    ref_has = ce[:, :, 0].sum(axis=0) + ce[:, :, 2].sum(axis=0) > 0
    bleu = bleu_statistics([tokenize(t) for t in refs], [tokenize(t) for t in hyps])
    return _PerReport(bleu=bleu, rouge=rouge, ce=ce, finding=finding, ref_has=ref_has)


def _summary(
    per: _PerReport, *, n_resamples: int, seed: int, level: float
) -> dict[str, float | list[float] | None]:
    n = len(per.rouge)
    point = {k: v[0] for k, v in per.stats(np.ones((1, n))).items()}
    rng = bs.rng_for(seed, "reports")
    parts = [per.stats(w) for w in bs.case_weight_chunks(rng, n, n_resamples)]
    summary: dict[str, Any] = {}
    for key, value in point.items():
        summary[key] = None if not np.isfinite(value) else float(value)
        if parts:
            boot = np.concatenate([p[key] for p in parts])
            summary[f"{key}_ci"] = bs.percentile_ci(boot, level)
    return summary


def _per_label(ce: Array) -> dict[str, dict[str, Any]]:
    out = {}
    for j, lab in enumerate(_labels()):
        tp, fp, fn = ce[:, j].sum(axis=0)
        f1 = _f1(np.array(tp), np.array(fp), np.array(fn))
        out[lab] = {
            "tp": int(tp),
            "fp": int(fp),
            "fn": int(fn),
            "f1": None if np.isnan(f1) else float(f1),
        }
    return out


def evaluate_reports(
    ref: TableSource,
    hyp: TableSource,
    *,
    id_column: str = "id",
    text_column: str = "text",
    uncertain_as_positive: bool = False,
    allow_missing: bool = False,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
) -> TextResult:
    """Score generated reports against references (see the module docstring). A reference
    without a hypothesis of the same id is an error unless ``allow_missing``."""
    bs.check_settings(n_resamples=n_resamples, level=level)
    rt = read_texts(ref, name="ref", id_column=id_column, text_column=text_column)
    ht = read_texts(hyp, name="hyp", id_column=id_column, text_column=text_column)
    al = align(rt, ht)
    acct = Accounting("generated report", allow=allow_missing)
    acct.add(find_missing(al, np.ones(len(rt.ids), dtype=bool)))
    acct.check()
    refs = [rt.columns[text_column][i] for i in np.flatnonzero(al.present)]
    hyps = [ht.columns[text_column][i] for i in al.rows[al.present]]
    per = _per_report(refs, hyps, uncertain_as_positive=uncertain_as_positive)
    summary = _summary(per, n_resamples=n_resamples, seed=seed, level=level)
    # The point BLEU is nltk's own; the statistics route must give the same number.
    summary.update(nltk_bleu([tokenize(t) for t in refs], [tokenize(t) for t in hyps]))
    labels = _labels()
    metrics = {
        "task": "reports",
        "settings": {
            "tokenizer": "lower-case, [a-z0-9]+ words, punctuation dropped",
            "bleu": "nltk corpus_bleu, uniform weights, SmoothingFunction().method1 (epsilon 0.1)",
            "rouge": "rouge-score rougeL F-measure, no stemming, mean over reports",
            "clinical_labels": "radpilot.reports.read + labels.chexpert, 14 CheXpert labels",
            "uncertain": "positive" if uncertain_as_positive else "negative",
            "macro_f1_over": [lab for lab, h in zip(labels, per.ref_has, strict=True) if h],
            "finding_f1": "(finding id, certainty, laterality) tuples, hypothetical left out",
            "allow_missing": allow_missing,
            "bootstrap_resamples": n_resamples,
            "seed": seed,
            "ci_level": level,
        },
        "matching": {
            "ref": rt.name,
            "hyp": ht.name,
            "n_ref": len(rt.ids),
            "n_hyp": len(ht.ids),
            **al.summary("ref", "hyp"),
        },
        "missing": acct.to_dict(),
        "warnings": acct.warnings(),
        "notes": [n for n in (al.extra_note(),) if n],
        "n": len(refs),
        "metrics": summary,
        "clinical_labels": _per_label(per.ce),
    }
    return TextResult(metrics)

"""Bootstrap speed of radpilot's evaluation harness.

1,000 stratified bootstrap resamples over 100,000 cases x 14 findings (AUROC, AUPRC and
sensitivity / specificity / PPV / NPV / F1 at a threshold, each resample), against a naive
baseline measured in the same run: sklearn's roc_auc_score + average_precision_score on
resampled index arrays, in a Python loop, on a subset of resamples (its per-resample time
is extrapolated; running it in full would take many minutes).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/evaluate_bootstrap.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate import curves
from radpilot.evaluate.classification import bootstrap_stats


def synthetic(n_cases: int, n_findings: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prevalence = np.linspace(0.01, 0.3, n_findings)
    y = rng.random((n_findings, n_cases)) < prevalence[:, None]
    score = 1 / (1 + np.exp(-(rng.normal(size=y.shape) + 1.5 * y - 2)))
    return y, score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--findings", type=int, default=14)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--baseline-resamples", type=int, default=20)
    args = ap.parse_args()
    y, score = synthetic(args.cases, args.findings, seed=0)

    t0 = time.perf_counter()
    for f in range(args.findings):
        curve = curves.BinaryCurve(y[f], score[f], thresholds=[0.5])
        bootstrap_stats(curve, n_resamples=args.resamples, rng=bs.rng_for(0, str(f)), threshold=0.5)
    radpilot_s = time.perf_counter() - t0

    from sklearn.metrics import average_precision_score, roc_auc_score

    # Same-run baseline on the hardest finding (highest prevalence: most distinct positives).
    f = args.findings - 1
    k = args.baseline_resamples
    rng = np.random.default_rng(1)
    pos, neg = np.flatnonzero(y[f]), np.flatnonzero(~y[f])
    t0 = time.perf_counter()
    for _ in range(k):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        roc_auc_score(y[f][idx], score[f][idx])
        average_precision_score(y[f][idx], score[f][idx])
    naive_per = (time.perf_counter() - t0) / k
    t0 = time.perf_counter()
    curve = curves.BinaryCurve(y[f], score[f], thresholds=[0.5])
    bootstrap_stats(curve, n_resamples=k, rng=np.random.default_rng(1), threshold=0.5)
    ours_per = (time.perf_counter() - t0) / k

    per_full = radpilot_s / args.resamples / args.findings
    naive_full = naive_per * args.resamples * args.findings
    title = (
        f"Stratified bootstrap: {args.resamples} resamples x {args.cases:,} cases x "
        f"{args.findings} findings"
    )
    table = Table(title=title)
    table.add_column("method")
    table.add_column("seconds", justify="right")
    table.add_column("ms / resample / finding", justify="right")
    table.add_column("vs sklearn loop", justify="right")
    table.add_row(
        "radpilot, full run",
        f"{radpilot_s:.1f}",
        f"{1e3 * per_full:.2f}",
        f"{naive_per / per_full:.0f}x faster",
    )
    table.add_row(
        f"sklearn loop, {k} resamples of finding {f + 1}, extrapolated",
        f"{naive_full:.0f}",
        f"{1e3 * naive_per:.2f}",
        "1x",
    )
    table.add_row(
        f"radpilot, same {k} resamples of finding {f + 1} (incl. setup)",
        "",
        f"{1e3 * ours_per:.2f}",
        f"{naive_per / ours_per:.0f}x faster",
    )
    Console().print(table)


if __name__ == "__main__":
    main()

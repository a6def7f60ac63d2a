"""Error injection benchmark of ``radpilot qa`` on the OpenI development reports.

Every development report (``../shared/data/openi/dev_ids.txt``, read from the
torchxrayvision wheel's ``NLMCXR_reports.tgz`` by radpilot's OpenI reader; text = FINDINGS
+ IMPRESSION) is checked as it is (untouched) and once per error type where the type
applies (``qa_inject.py``, seeded): a laterality swapped in the IMPRESSION, an impression
item dropped, a communication statement removed (from a report that has one, or after
adding a critical finding and its communication), a critical finding inserted, a finding
contradicted. The checker sees the edited text only.

Scoring, per problem kind:

* recall: of the reports injected with an error type, the share where the checker raises
  that type's kind with evidence overlapping the injected words (the swapped side word,
  the inserted sentence, the dropped finding's words in FINDINGS);
* precision: of the problems of that kind, the share that are such hits. Counted as false:
  every problem on the untouched reports, and every problem on an injected report that
  overlaps no injected words and was not already raised on its untouched original (so an
  original's alarm counts once);
* false alarms per 100 untouched reports (any kind), and per 100 controls (a critical
  finding added with its communication statement: nothing to flag).

95% intervals: Wilson for the proportions (``radpilot.evaluate.bootstrap.wilson_ci``), a
seeded case bootstrap over reports for the alarm rates.

Usage: ``python benchmarks/qa_injection.py [--shared DIR] [--seed 13] [--show KIND]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import qa_inject as inj

from radpilot.evaluate.bootstrap import rng_for, wilson_ci
from radpilot.reports.openi import iter_reports
from radpilot.workflow.qa import Problem, check

KINDS = (
    "laterality_conflict",
    "missing_from_impression",
    "critical_not_communicated",
    "internal_contradiction",
)


def dev_reports(shared: Path) -> list[tuple[str, str, str]]:
    ids = set((shared / "data" / "openi" / "dev_ids.txt").read_text().split())
    return [
        (r.id, r.findings, r.impression)
        for r in iter_reports()
        if r.id in ids and (r.findings or r.impression)
    ]


def injections(rid: str, findings: str, impression: str, seed: int) -> list[inj.Injection]:
    out = [
        inj.swap_laterality(rid, findings, impression, seed),
        inj.drop_impression_item(rid, findings, impression, seed),
        inj.insert_critical(rid, findings, impression, seed),
        inj.contradict(rid, findings, impression, seed),
    ]
    removed = inj.remove_communication(rid, findings, impression)
    if removed is None:
        pair = inj.with_communication(rid, findings, impression, seed + 1)
        if pair is not None:
            out += list(pair)
    else:
        out.append(removed)
    return [i for i in out if i is not None]


def _hits(p: Problem, targets: tuple[tuple[int, int], ...]) -> bool:
    return any(e.start < b and a < e.end for e in p.evidence for a, b in targets)


def _rate_ci(counts: list[int], seed: int, key: str) -> list[float]:
    a = np.asarray(counts, dtype=float)
    rng = rng_for(seed, key)
    draws = rng.integers(0, len(a), size=(1000, len(a)))
    rates = a[draws].mean(axis=1) * 100
    lo, hi = np.quantile(rates, [0.025, 0.975])
    return [float(lo), float(hi)]


def _fmt(x: float | None, ci: list[float] | None) -> str:
    if x is None:
        return "   -"
    band = f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else ""
    return f"{x:.3f}{band}"


def run(shared: Path, seed: int, show: str | None) -> None:
    reports = dev_reports(shared)
    t0 = time.process_time()
    untouched_alarms: list[int] = []
    by_kind_untouched: Counter[str] = Counter()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    recalled: Counter[str] = Counter()
    control_alarms: list[int] = []
    missed: dict[str, list[str]] = defaultdict(list)
    checked = 0
    for rid, findings, impression in reports:
        original = check(inj.report_text(findings, impression))
        checked += 1
        untouched_alarms.append(len(original))
        for p in original:
            by_kind_untouched[p.kind.value] += 1
            fp[p.kind.value] += 1
        before = {(p.kind.value, p.finding) for p in original}
        for i in injections(rid, findings, impression, seed):
            problems = check(i.text)
            checked += 1
            if i.kind == "control":
                control_alarms.append(
                    sum(p.kind.value == "critical_not_communicated" for p in problems)
                )
                continue
            injected[i.kind] += 1
            found = False
            for p in problems:
                kind = p.kind.value
                if kind in i.allowed and _hits(p, i.targets):
                    tp[kind] += 1
                    found = found or kind == inj.EXPECTED[i.kind]
                elif (kind, p.finding) not in before:
                    fp[kind] += 1
            if found:
                recalled[i.kind] += 1
            elif show in (i.kind, "all"):
                missed[i.kind].append(f"{rid}: {i.text}")
    seconds = time.process_time() - t0
    print(f"OpenI development reports: {len(reports)} untouched; seed {seed}")
    print(f"checked {checked} texts in {seconds:.1f} s CPU ({checked / seconds:.0f}/s)\n")
    print(f"{'error type':<22} {'injected':>8} {'found':>6}  recall (95% CI)")
    for kind in inj.EXPECTED:
        n, k = injected[kind], recalled[kind]
        r = k / n if n else None
        print(f"{kind:<22} {n:>8} {k:>6}  {_fmt(r, wilson_ci(k, n) if n else None)}")
    print(f"\n{'problem kind':<27} {'flags':>6} {'correct':>7}  precision (95% CI)")
    for kind in KINDS:
        n = tp[kind] + fp[kind]
        prec = tp[kind] / n if n else None
        ci = wilson_ci(tp[kind], n) if n else None
        print(f"{kind:<27} {n:>6} {tp[kind]:>7}  {_fmt(prec, ci)}")
    n_u = len(untouched_alarms)
    rate = 100 * sum(untouched_alarms) / n_u
    lo, hi = _rate_ci(untouched_alarms, seed, "untouched")
    print(f"\nalarms per 100 untouched reports: {rate:.2f} (95% CI {lo:.2f}-{hi:.2f})")
    for kind, count in sorted(by_kind_untouched.items()):
        print(f"  {kind:<27} {100 * count / n_u:.2f}")
    if control_alarms:
        n_c = len(control_alarms)
        c_rate = 100 * sum(control_alarms) / n_c
        lo, hi = _rate_ci(control_alarms, seed, "control")
        print(
            f"critical_not_communicated per 100 controls (critical finding + communication, "
            f"{n_c}): {c_rate:.2f} (95% CI {lo:.2f}-{hi:.2f})"
        )
    for kind, texts in missed.items():
        print(f"\nmissed {kind} ({len(texts)}):")
        for t in texts[:15]:
            print("  " + t.replace("\n", " | "))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=os.environ.get("RADPILOT_SHARED"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--show", help="print the injected reports of this error type (or 'all') the checker missed"
    )
    args = ap.parse_args()
    shared = Path(args.shared or Path.cwd().parent / "shared")
    if not (shared / "data" / "openi" / "dev_ids.txt").is_file():
        sys.exit(f"{shared}: no data/openi/dev_ids.txt here; pass --shared DIR")
    run(shared, args.seed, args.show)


if __name__ == "__main__":
    main()

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

Usage: ``python benchmarks/qa_injection.py [--shared DIR] [--seed 13] [--show KIND]
[--drops one|every]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import qa_inject as inj
from qa_criterion import confirmed
from qa_naive import naive_check

from radpilot.evaluate.bootstrap import rng_for, wilson_ci
from radpilot.reports.openi import iter_reports
from radpilot.workflow.qa import check

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


def injections(
    rid: str, findings: str, impression: str, seed: int, drops: str = "one"
) -> list[inj.Injection]:
    out: list[inj.Injection | None] = [
        inj.swap_laterality(rid, findings, impression, seed),
        inj.insert_critical(rid, findings, impression, seed),
        inj.contradict(rid, findings, impression, seed),
    ]
    if drops == "every":
        out += inj.drop_impression_items(findings, impression)
    else:
        out.append(inj.drop_impression_item(rid, findings, impression, seed))
    removed = inj.remove_communication(rid, findings, impression)
    if removed is None:
        pair = inj.with_communication(rid, findings, impression, seed + 1)
        if pair is not None:
            out += list(pair)
    else:
        out.append(removed)
    return [i for i in out if i is not None]


def _hits(p: Any, targets: tuple[tuple[int, int], ...]) -> bool:
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


@dataclass
class Score:
    """One checker's counts over the same texts."""

    untouched: list[int] = field(default_factory=list)
    untouched_kinds: Counter[str] = field(default_factory=Counter)
    # Untouched alarms the checker-blind criterion (``qa_criterion.confirmed``) confirms.
    confirmed: list[int] = field(default_factory=list)
    confirmed_kinds: Counter[str] = field(default_factory=Counter)
    criterion: Counter[str] = field(default_factory=Counter)  # reports it finds, per kind
    criterion_flagged: Counter[str] = field(default_factory=Counter)  # ... the checker too
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    recalled: Counter[str] = field(default_factory=Counter)
    control: list[int] = field(default_factory=list)
    seconds: float = 0.0
    missed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def original(
        self, problems: Sequence[Any], real: dict[str, tuple[tuple[int, int], ...]]
    ) -> set[tuple[str, Any]]:
        self.untouched.append(len(problems))
        n_confirmed = 0
        for p in problems:
            kind = p.kind.value
            self.untouched_kinds[kind] += 1
            self.fp[kind] += 1
            if kind in real and _hits(p, real[kind]):
                n_confirmed += 1
                self.confirmed_kinds[kind] += 1
        self.confirmed.append(n_confirmed)
        for kind, spans in real.items():
            self.criterion[kind] += 1
            if any(p.kind.value == kind and _hits(p, spans) for p in problems):
                self.criterion_flagged[kind] += 1
        return {(p.kind.value, p.finding) for p in problems}

    def injected(self, i: inj.Injection, problems: Sequence[Any], before: set[Any]) -> bool:
        if i.kind == "control":
            self.control.append(sum(p.kind.value == "critical_not_communicated" for p in problems))
            return True
        found = False
        for p in problems:
            kind = p.kind.value
            if kind in i.allowed and _hits(p, i.targets):
                self.tp[kind] += 1
                found = found or kind == inj.EXPECTED[i.kind]
            elif (kind, p.finding) not in before:
                self.fp[kind] += 1
        if found:
            self.recalled[i.kind] += 1
        return found


def _timed(fn: Callable[[str], Sequence[Any]], text: str, score: Score) -> Sequence[Any]:
    t0 = time.process_time()
    out = fn(text)
    score.seconds += time.process_time() - t0
    return out


def run(shared: Path, seed: int, show: str | None, drops: str = "one") -> None:
    reports = dev_reports(shared)
    checkers: dict[str, Callable[[str], Sequence[Any]]] = {"radpilot": check, "naive": naive_check}
    scores = {name: Score() for name in checkers}
    injected: Counter[str] = Counter()
    checked = 0
    for rid, findings, impression in reports:
        text = inj.report_text(findings, impression)
        real = confirmed(findings, impression)
        made = injections(rid, findings, impression, seed, drops)
        checked += 1 + len(made)
        for i in made:
            injected[i.kind] += 1
        for name, fn in checkers.items():
            score = scores[name]
            before = score.original(_timed(fn, text, score), real)
            for i in made:
                found = score.injected(i, _timed(fn, i.text, score), before)
                if not found and name == "radpilot" and show in (i.kind, "all"):
                    score.missed[i.kind].append(f"{rid}: {i.text}")
    print(f"drops: {drops} (one impression item per report, or every one in its own copy)")
    _print(reports, seed, checked, injected, scores)
    for kind, texts in scores["radpilot"].missed.items():
        print(f"\nmissed {kind} ({len(texts)}):")
        for t in texts[:15]:
            print("  " + t.replace("\n", " | "))


def _print(
    reports: list[Any], seed: int, checked: int, injected: Counter[str], scores: dict[str, Score]
) -> None:
    print(f"OpenI development reports: {len(reports)} untouched; seed {seed}; {checked} texts")
    for name, sc in scores.items():
        print(f"  {name}: {sc.seconds:.1f} s CPU ({checked / max(sc.seconds, 1e-9):,.0f} texts/s)")
    names = list(scores)
    print(f"\n{'recall':<22} {'injected':>8}  " + "  ".join(f"{n:<22}" for n in names))
    for kind in inj.EXPECTED:
        n = injected[kind]
        cells = []
        for sc in scores.values():
            k = sc.recalled[kind]
            cells.append(f"{_fmt(k / n if n else None, wilson_ci(k, n) if n else None):<22}")
        print(f"{kind:<22} {n:>8}  " + "  ".join(cells))
    for strict in (True, False):
        title = "precision" if strict else "precision, confirmed untouched alarms not counted"
        print(f"\n{title}")
        print(f"{'':<27} " + "  ".join(f"{n + ' (flags)':<30}" for n in names))
        for kind in KINDS:
            cells = []
            for sc in scores.values():
                fp = sc.fp[kind] - (0 if strict else sc.confirmed_kinds[kind])
                n = sc.tp[kind] + fp
                prec = sc.tp[kind] / n if n else None
                ci = wilson_ci(sc.tp[kind], n) if n else None
                cells.append(f"{_fmt(prec, ci)} ({n})".ljust(30))
            print(f"{kind:<27} " + "  ".join(cells))
    _print_alarms(seed, scores)
    print("critical_not_communicated per 100 controls (a critical finding + its communication)")
    for name, sc in scores.items():
        n_c = len(sc.control)
        lo, hi = _rate_ci(sc.control, seed, "control")
        print(f"  {name:<9} {100 * sum(sc.control) / n_c:5.2f} ({lo:.2f}-{hi:.2f}) of {n_c}")


def _print_alarms(seed: int, scores: dict[str, Score]) -> None:
    print("\nalarms per 100 untouched reports (95% CI): all; confirmed by the checker-blind")
    print("criterion (qa_criterion.confirmed); not confirmed (the target: <= 1)")
    for name, sc in scores.items():
        n_u = len(sc.untouched)
        rest = [a - c for a, c in zip(sc.untouched, sc.confirmed, strict=True)]
        cells = []
        for key, counts in (("untouched", sc.untouched), ("confirmed", sc.confirmed)):
            lo, hi = _rate_ci(counts, seed, key)
            cells.append(f"{100 * sum(counts) / n_u:5.2f} ({lo:.2f}-{hi:.2f})")
        lo, hi = _rate_ci(rest, seed, "unconfirmed")
        cells.append(f"{100 * sum(rest) / n_u:5.2f} ({lo:.2f}-{hi:.2f})")
        print(f"  {name:<9} " + "; ".join(cells))
        for k, c in sorted(sc.untouched_kinds.items()):
            print(
                f"    {k:<27} {100 * c / n_u:5.2f}, confirmed {100 * sc.confirmed_kinds[k] / n_u:.2f}"
            )
    print("reports the criterion finds a problem in, and the share each checker flags there")
    for kind, n in sorted(scores["radpilot"].criterion.items()):
        cells = [f"{name} {sc.criterion_flagged[kind]}" for name, sc in scores.items()]
        print(f"  {kind:<27} {n:>4}: " + ", ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=os.environ.get("RADPILOT_SHARED"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--show", help="print the injected reports of this error type (or 'all') the checker missed"
    )
    ap.add_argument(
        "--drops",
        choices=("one", "every"),
        default="one",
        help="drop one impression item per report (seeded), or every droppable one, each in "
        "its own copy (more drop sites, a tighter interval)",
    )
    args = ap.parse_args()
    shared = Path(args.shared or Path.cwd().parent / "shared")
    if not (shared / "data" / "openi" / "dev_ids.txt").is_file():
        sys.exit(f"{shared}: no data/openi/dev_ids.txt here; pass --shared DIR")
    run(shared, args.seed, args.show, args.drops)


if __name__ == "__main__":
    main()

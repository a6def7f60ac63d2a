"""How many annotator decisions a dataset needs to reach a label quality: active learning
(``uncertainty.v1``) against random order (``random.v1``, several seeds) and file order.

Items: the OpenI development reports (``../shared/data/openi``, dev split only), each with
radpilot's CheXpert proposals (default policy), exactly as ``radpilot datasets create``
makes them. Gold: ``openi_gold.py`` (MeSH majors mapped to CheXpert names). A simulated
annotator answers from the gold: every proposal costs one decision (accept / flip / reject)
and comes out right, and every gold finding radpilot did not propose costs one decision
(add), except that with probability ``--error`` a decision comes out wrong (a correct
proposal flipped, a wrong one kept, a missed finding not added). Quality is the dataset's
macro-F1 against the gold exactly as ``openi_gold.py score`` computes it (uncertain counts
as positive, classes with support >= 5), over every report: annotated ones with the
annotator's labels, the rest with radpilot's.

    .venv/bin/python benchmarks/datasets_active.py [--shared ../shared] [--error 0 0.01 0.02]
        [--targets 0.95 0.96 0.97 0.98 0.99] [--seeds 5]

Decisions to a target are the mean over seeds, and "not reached" where some seed never
reaches it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from radpilot.datasets.active import by_uncertainty, in_order, shuffled
from radpilot.datasets.models import Item, ItemKind
from radpilot.datasets.proposals import labelling, report_proposals
from radpilot.devdata import OPENI_GOLD_SCRIPT, load_script, shared_dir


@dataclass
class Case:
    item: Item
    gold: frozenset[str]


def load_cases(shared: Path) -> tuple[list[Case], list[str]]:
    gold_mod = load_script(shared / OPENI_GOLD_SCRIPT, "openi_gold")
    how = labelling("chexpert")
    cases = []
    rows = [r for r in gold_mod.load() if r["split"] == "dev"]
    for i, r in enumerate(rows, start=1):
        text = gold_mod.report_text(r)
        item = Item(i, i, ItemKind.REPORT, r["id"], text, proposals=report_proposals(text, how))
        cases.append(Case(item, frozenset(r["positive"])))
    return cases, list(gold_mod.CLASSES)


def _positive(v: float | None) -> bool:
    return v is not None and v in (1.0, -1.0)


class Quality:
    """Per-class tp/fp/fn over every item, updated one item at a time."""

    def __init__(self, cases: Sequence[Case], classes: Sequence[str]) -> None:
        self.classes = list(classes)
        self.support = {c: sum(c in k.gold for k in cases) for c in classes}
        self.scored = [c for c in classes if self.support[c] >= 5]
        self.tp = dict.fromkeys(classes, 0)
        self.fp = dict.fromkeys(classes, 0)
        self.fn = dict.fromkeys(classes, 0)
        for k in cases:
            self._count(k, _pred(k.item.radpilot_labels(), classes), +1)

    def _count(self, k: Case, pred: dict[str, bool], sign: int) -> None:
        for c in self.classes:
            p, t = pred[c], c in k.gold
            self.tp[c] += sign * (p and t)
            self.fp[c] += sign * (p and not t)
            self.fn[c] += sign * (t and not p)

    def replace(self, k: Case, old: dict[str, bool], new: dict[str, bool]) -> None:
        self._count(k, old, -1)
        self._count(k, new, +1)

    def macro_f1(self) -> float:
        f1s = []
        for c in self.scored:
            tp, fp, fn = self.tp[c], self.fp[c], self.fn[c]
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        return sum(f1s) / len(f1s)


def _pred(labels: dict[str, float | None], classes: Sequence[str]) -> dict[str, bool]:
    return {c: _positive(labels.get(c)) for c in classes}


def annotate(
    k: Case, classes: Sequence[str], error: float, rng: random.Random
) -> tuple[dict[str, bool], int]:
    """The simulated annotator's answer for one item and the decisions it took."""
    ours = _pred(k.item.radpilot_labels(), classes)
    proposed = {p.label for p in k.item.proposals}
    answer = dict(ours)
    decisions = 0
    for c in classes:
        truth = c in k.gold
        if c in proposed:  # accept / flip / reject: one decision, right unless an error
            decisions += 1
            answer[c] = truth if rng.random() >= error else not truth
        elif truth:  # a missed finding: one decision to add it (unless an error)
            decisions += 1
            answer[c] = rng.random() >= error
    return answer, decisions


def curve(
    cases: Sequence[Case], order: Sequence[Item], classes: Sequence[str], error: float, seed: int
) -> list[tuple[int, float]]:
    """(decisions so far, macro-F1) after each item, starting from radpilot's labels."""
    by_id = {k.item.id: k for k in cases}
    q = Quality(cases, classes)
    rng = random.Random(seed)
    out = [(0, q.macro_f1())]
    spent = 0
    for it in order:
        k = by_id[it.id]
        old = _pred(it.radpilot_labels(), classes)
        new, n = annotate(k, classes, error, rng)
        q.replace(k, old, new)
        spent += n
        out.append((spent, q.macro_f1()))
    return out


def needed(points: list[tuple[int, float]], target: float) -> int | None:
    for spent, f1 in points:
        if f1 >= target:
            return spent
    return None


def _orders(items: Sequence[Item], seeds: int) -> dict[str, list[list[Item]]]:
    """Each strategy's item orders: one per seed (the same order for the deterministic
    strategies; the annotator's errors still follow the seed)."""
    return {
        "uncertainty.v1": [by_uncertainty(items)] * seeds,
        "random.v1": [shuffled(items, s) for s in range(seeds)],
        "order.v1": [in_order(items)] * seeds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=None)
    ap.add_argument("--error", type=float, nargs="+", default=[0.0, 0.01, 0.02])
    ap.add_argument("--targets", type=float, nargs="+", default=[0.95, 0.96, 0.97, 0.98, 0.99])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    shared = args.shared or shared_dir()
    if not (shared / OPENI_GOLD_SCRIPT).is_file():
        print(f"{shared}: no {OPENI_GOLD_SCRIPT} (pass --shared DIR)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    cases, classes = load_cases(shared)
    items = [k.item for k in cases]
    t_load = time.perf_counter() - t0
    scored = len(Quality(cases, classes).scored)
    start = Quality(cases, classes).macro_f1()
    print(
        f"OpenI dev reports: {len(items)} · classes scored: {scored} · seeds {args.seeds} · "
        f"items read in {t_load:.1f} s · macro-F1 of radpilot's labels alone {start:.3f}"
    )
    head = " | ".join(f"to F1 {t:.2f}" for t in args.targets)
    print(f"| annotator error | strategy | all items: decisions, F1 | {head} |")
    print("|---" * (len(args.targets) + 3) + "|")
    for error in args.error:
        for name, order in _orders(items, args.seeds).items():
            runs = [curve(cases, o, classes, error, s) for s, o in enumerate(order)]
            cells = []
            for t in args.targets:
                got = [needed(r, t) for r in runs]
                ok = [g for g in got if g is not None]
                cells.append(
                    f"{statistics.mean(ok):,.0f}" if len(ok) == len(got) else "not reached"
                )
            end_f1 = statistics.mean(r[-1][1] for r in runs)
            print(
                f"| {error:.0%} | {name} | {runs[0][-1][0]:,}, {end_f1:.3f} | "
                + " | ".join(cells)
                + " |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

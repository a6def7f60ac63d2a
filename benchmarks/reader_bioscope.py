"""Mention certainty on BioScope's clinical sentences (development half), through the public API.

Each sentence of ``../shared/data/bioscope/bioscope_clinical_dev.jsonl`` is read with
``radpilot.reports.read``; every mention is scored as ``bioscope_dev.py score`` scores
``radpilot label --format jsonl`` output (its ``gold_of`` is imported from it, not copied): gold = absent inside a negation scope, uncertain inside a speculation scope,
present otherwise; mentions whose span holds their own cue, and spans in both kinds of scope,
are not scored. Macro-F1 over present / absent / uncertain is the figure. One difference
from ``bioscope_dev.py score``: "holds its own cue" compares cue and span as the reader
matches phrases (case and runs of spaces or hyphens folded), so "The lungs are well -
expanded" (cue "well expanded") is the normal statement the rule means to skip.

BioScope counts "consistent with" as speculation; radpilot states it as PRESENT (the CheXpert
labeler's convention, and radpilot's: ``Hedge.CONSISTENT`` records it on the mention). The
script therefore also prints the errors by the hedge kind radpilot recorded, so that such a
convention difference shows as such instead of being tuned away, and a second figure "as
BioScope counts": the same mentions with ``hedge: consistent`` read as uncertain (a reading
of radpilot's output, not a setting of the reader).

Usage: ``python benchmarks/reader_bioscope.py [--shared DIR] [--errors N]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

from radpilot.reports import read


def shared_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("RADPILOT_SHARED") or Path.cwd().parent / "shared")
    if not (path / "data" / "bioscope" / "bioscope_dev.py").is_file():
        sys.exit(f"{path}: no data/bioscope/bioscope_dev.py here; pass --shared DIR")
    return path


def load_scorer(shared: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bioscope_dev", shared / "data" / "bioscope" / "bioscope_dev.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _folded(s: str) -> str:
    """A phrase as the reader matches it: lower case, a run of spaces or hyphens one space
    (a cue is recorded in its data-file spelling, "well expanded", while the span is the
    text's, "lungs are well - expanded"; bioscope_dev.py's literal test misses those)."""
    return " ".join(re.split(r"[\s-]+", s.lower())).strip()


def score(conf: Counter[tuple[str, str]], classes: tuple[str, ...]) -> tuple[float, float]:
    """(accuracy, macro-F1) of a gold x predicted confusion count."""
    f1s = []
    for c in classes:
        tp = conf[(c, c)]
        fp = sum(conf[(g, c)] for g in classes if g != c)
        fn = sum(conf[(c, p)] for p in classes if p != c)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    n = sum(conf.values())
    return sum(conf[(c, c)] for c in classes) / max(1, n), sum(f1s) / len(classes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", help="the ../shared folder (default: ../shared)")
    ap.add_argument("--errors", type=int, default=0, help="print the first N errors")
    args = ap.parse_args()
    scorer = load_scorer(shared_dir(args.shared))
    classes: tuple[str, ...] = scorer.CLASSES
    conf: Counter[tuple[str, str]] = Counter()
    as_bioscope: Counter[tuple[str, str]] = Counter()  # hedge "consistent" read as uncertain
    by_hedge: Counter[tuple[str, str, str]] = Counter()
    errors: list[str] = []
    mixed = 0
    t0 = time.perf_counter()
    rows = scorer.load()
    for row in rows:
        for m in read(row["text"]).mentions:
            text = _folded(m.span.text)
            if any(c and _folded(c) in text for c in m.cues):
                continue  # scorer rule: a mention holding its own cue ("lungs are clear")
            gold = scorer.gold_of(row["scopes"], m.span.start, m.span.end)
            if gold == "mixed":
                mixed += 1
                continue
            got = m.certainty.value
            conf[(gold, got)] += 1
            consistent = m.hedge is not None and m.hedge.value == "consistent"
            as_bioscope[(gold, "uncertain" if consistent else got)] += 1
            if gold != got:
                by_hedge[(gold, got, m.hedge.value if m.hedge else "-")] += 1
                errors.append(f"gold={gold} got={got} {m.finding} {m.span.text!r} | {row['text']}")
    elapsed = time.perf_counter() - t0
    acc, macro = score(conf, classes)
    print(f"BioScope clinical dev: {len(rows)} sentences, {sum(conf.values())} mentions scored,")
    print(f"{mixed} in both kinds of scope skipped; read in {elapsed:.1f} s")
    print(f"{'gold/got':12s}" + "".join(f"{c:>11s}" for c in classes))
    for g in classes:
        print(f"{g:12s}" + "".join(f"{conf[(g, p)]:11d}" for p in classes))
    print(f"accuracy={acc:.4f} macro_f1={macro:.4f}")
    acc_b, macro_b = score(as_bioscope, classes)
    print(
        f"as BioScope counts ('consistent with' uncertain): accuracy={acc_b:.4f} macro_f1={macro_b:.4f}"
    )
    print("errors by the hedge kind radpilot recorded (gold, got, hedge: count):")
    for (g, p, h), n in by_hedge.most_common():
        print(f"  {g:9s} {p:9s} {h:11s} {n}")
    for line in errors[: args.errors]:
        print(line)


if __name__ == "__main__":
    main()

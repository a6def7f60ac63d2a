"""Mention certainty and report labels on an out-of-sample check set, beside the naive baseline.

``benchmarks/data/reader_check_fresh.jsonl`` holds chest radiograph report sentences and short
reports written by hand in styles the OpenI dev split lacks (UK/Australian wording, ICU portable
films, templated "Lungs: clear.", dictation artefacts, long compound sentences, pediatric,
post-operative, "compared with", numbered impressions, hedges, negated plurals, devices,
general statements, differentials), each labelled by reading before the reader ever ran on it.

A row: ``id``, ``style``, ``split`` (``tune`` or ``held``: 30% held back by a seeded draw made
before the first run, never looked at while fixing), ``text``, and ``mentions`` and/or
``labels``:

* ``mentions``: ``finding`` (a vocabulary id, or a CheXpert label name matched by any
  mention whose finding has that ``chexpert`` label), ``certainty`` (present / absent /
  uncertain, radpilot's conventions: "consistent with" is present, "resolved" absent), and
  ``laterality`` where the text states a side. A gold mention is matched by the reader's
  mentions of that finding that are findings of this study (not hypothetical, not under
  another region); of those, the ones with the stated side are preferred. It is scored
  correct when one of them has the gold certainty, else as the first one's certainty, or as
  ``missed`` when there is none. Gold mentions are not exhaustive, so nothing counts as a
  spurious mention.
* ``labels``: CheXpert label -> 1.0 / 0.0 / -1.0 / null (blank) under the default
  ``radpilot`` uncertainty policy (a diagnosis offered only to explain a stated observation
  is blank). Only the labels a row names are scored.

Figures: per-certainty P/R/F1 and their macro-F1 over the gold mentions; label macro-F1 =
the mean F1 of the four label values (1 / 0 / -1 / blank) over the named label cells. The
naive keyword labeler of ``reader_accuracy.py`` (imported) is scored in the same run: for
labels as is (it never says 0.0 or -1.0: a negated keyword is a blank), for mentions its
keywords and negation rule per sentence (a keyword after "no"/"not"/... is absent, else
present; it never says uncertain; findings outside its keyword lists are missed).

A second set, ``reader_check_fresh2.jsonl`` (``--set``), holds whole reports (FINDINGS +
IMPRESSION, 3-10 sentences) with labels only: every row names all 14 CheXpert labels (a
label the report does not speak of is blank, so a spurious label counts as an error), less
the few cells whose convention the gold leaves open. ``--chexpert-policy`` adds a column:
radpilot's reader under the ``chexpert`` uncertainty policy (every hedge -1.0), scored
against the same (radpilot-policy) gold.

Sets 3-7 (``reader_check_fresh3.jsonl`` .. ``reader_check_fresh7.jsonl``, BENCHMARKS.md
says who wrote each and its first run) use the same two formats: 3, 4, 5 and 7 whole
reports with labels, 6 pediatric sentences with mentions.
Set 8 and set 9 (``reader_check_fresh9.jsonl``, written blind and first run on 2026-12-04)
are whole department reports with labels, as are set 10 (``reader_check_fresh10.jsonl``)
and set 11 (``reader_check_fresh11.jsonl``), written blind and first run on 2026-12-06.

Usage: ``python benchmarks/reader_fresh.py [--set PATH] [--split tune|held|all] [--errors N]
[--chexpert-policy]``. ``--errors`` prints the tune split's errors only (the held split's
are never shown).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reader_accuracy import _NAIVE, _NEG, naive_labeler

from radpilot.reports import read
from radpilot.reports.labels import CHEXPERT_LABELS, chexpert
from radpilot.reports.models import Mention, Report
from radpilot.reports.vocabulary import load_vocabulary

DATA = Path(__file__).resolve().parent / "data" / "reader_check_fresh.jsonl"
CERTAINTIES = ("present", "absent", "uncertain")
MISSED = "missed"
LABEL_VALUES: tuple[float | None, ...] = (1.0, 0.0, -1.0, None)


@dataclass(frozen=True)
class GoldMention:
    finding: str
    certainty: str
    laterality: str | None


@dataclass(frozen=True)
class Row:
    id: str
    style: str
    split: str
    text: str
    mentions: tuple[GoldMention, ...]
    labels: dict[str, float | None] = field(default_factory=dict)


def load_rows(path: Path = DATA) -> list[Row]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        raw = json.loads(line)
        unknown = set(raw) - {"id", "style", "split", "text", "mentions", "labels", "note"}
        if unknown or raw["split"] not in ("tune", "held"):
            raise ValueError(f"{path.name}:{number}: unknown keys {sorted(unknown)} or split")
        mentions = tuple(
            GoldMention(m["finding"], m["certainty"], m.get("laterality"))
            for m in raw.get("mentions", [])
        )
        if any(m.certainty not in CERTAINTIES for m in mentions):
            raise ValueError(f"{path.name}:{number}: certainty not one of {CERTAINTIES}")
        labels = raw.get("labels", {})
        if not set(labels) <= set(CHEXPERT_LABELS) or (not mentions and not labels):
            raise ValueError(f"{path.name}:{number}: unknown label, or nothing to score")
        rows.append(Row(raw["id"], raw["style"], raw["split"], raw["text"], mentions, labels))
    return rows


# ---------------------------------------------------------------------------------------------
# Predicting a gold mention's certainty
# ---------------------------------------------------------------------------------------------


def _names(m: Mention, label_of: dict[str, str | None]) -> set[str]:
    return {m.finding, label_of.get(m.finding) or ""}


def radpilot_certainty(report: Report, gold: GoldMention, label_of: dict[str, str | None]) -> str:
    found = [
        m
        for m in report.mentions
        if gold.finding in _names(m, label_of) and not m.hypothetical and m.region is None
    ]
    sided = [m for m in found if m.laterality is not None and m.laterality.value == gold.laterality]
    pool = sided or found
    if not pool:
        return MISSED
    if any(m.certainty.value == gold.certainty for m in pool):
        return gold.certainty
    return pool[0].certainty.value


def _sentences(text: str) -> Iterator[str]:
    yield from re.split(r"[.\n]", text.lower())


def naive_certainty(text: str, gold: GoldMention) -> str:
    """The naive labeler's keyword and negation rule, per gold mention (a vocabulary id is
    looked up by the CheXpert label it rolls up to: the naive keywords are per label)."""
    found = load_vocabulary().findings.get(gold.finding)
    words = _NAIVE.get(found.chexpert if found is not None and found.chexpert else gold.finding)
    if words is None:
        return MISSED
    seen = []
    for sentence in _sentences(text):
        for w in words:
            i = sentence.find(w)
            if i >= 0:
                seen.append("absent" if _NEG.search(sentence[:i]) else "present")
    if gold.certainty in seen:
        return gold.certainty
    return seen[0] if seen else MISSED


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def f1_table(
    pairs: list[tuple[object, object]], classes: tuple[object, ...]
) -> dict[object, tuple[float, float, float, int]]:
    """class -> (precision, recall, F1, gold support) over (gold, predicted) pairs."""
    out = {}
    for c in classes:
        tp = sum(g == c and p == c for g, p in pairs)
        fp = sum(g != c and p == c for g, p in pairs)
        fn = sum(g == c and p != c for g, p in pairs)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        out[c] = (prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0, tp + fn)
    return out


def macro(table: dict[object, tuple[float, float, float, int]]) -> float:
    return sum(v[2] for v in table.values()) / len(table)


@dataclass
class Run:
    name: str
    mention_pairs: list[tuple[object, object]] = field(default_factory=list)
    label_pairs: list[tuple[object, object]] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)  # the CheXpert label of each pair
    errors: list[str] = field(default_factory=list)


def score_rows(
    rows: list[Row], name: str, labeler: Callable[[Row], tuple[list[str], dict[str, float | None]]]
) -> Run:
    run = Run(name)
    for row in rows:
        certainties, labels = labeler(row)
        for gold, got in zip(row.mentions, certainties, strict=True):
            run.mention_pairs.append((gold.certainty, got))
            if got != gold.certainty:
                run.errors.append(
                    f"{row.id} mention {gold.finding}: gold {gold.certainty}, got {got}"
                )
        for label, want in row.labels.items():
            run.label_pairs.append((want, labels.get(label)))
            run.label_names.append(label)
            if labels.get(label) != want:
                run.errors.append(f"{row.id} label {label}: gold {want}, got {labels.get(label)}")
    return run


def radpilot_labeler(
    policy: str = "radpilot",
) -> Callable[[Row], tuple[list[str], dict[str, float | None]]]:
    vocab = load_vocabulary()
    label_of = {f.id: f.chexpert for f in vocab.findings.values()}

    def label(row: Row) -> tuple[list[str], dict[str, float | None]]:
        report = read(row.text)
        return [radpilot_certainty(report, g, label_of) for g in row.mentions], chexpert(
            report, policy=policy
        )

    return label


def naive(row: Row) -> tuple[list[str], dict[str, float | None]]:
    return [naive_certainty(row.text, g) for g in row.mentions], naive_labeler(row.text)[0]


def report(runs: list[Run], title: str) -> None:
    print(f"\n{title}")
    if runs[0].mention_pairs:
        _mention_report(runs)
    else:
        print(f"{'labels':18s}" + "".join(f"| {r.name:^24s}" for r in runs))
    _label_report(runs)


def per_label_report(runs: list[Run]) -> None:
    """Per CheXpert label: the macro-F1 of the label values its gold cells hold, and the
    number of cells, so a whole-report set shows which labels its errors fall on."""
    print(f"{'per label':27s}" + "".join(f"| {r.name[:20]:^20s}" for r in runs))
    for name in CHEXPERT_LABELS:
        cells = []
        for r in runs:
            pairs = [p for p, n in zip(r.label_pairs, r.label_names, strict=True) if n == name]
            held = tuple(v for v in LABEL_VALUES if any(g == v for g, _ in pairs))
            cells.append(macro(f1_table(pairs, held)) if held else float("nan"))
        sup = sum(n == name for n in runs[0].label_names)
        print(f"{name:22s} {sup:4d}" + "".join(f"| {c:20.4f}" for c in cells))


def _mention_report(runs: list[Run]) -> None:
    print(f"{'mention certainty':18s}" + "".join(f"| {r.name:^24s}" for r in runs))
    print(
        f"{'class':12s} {'sup':>4s} "
        + "| {:>6s} {:>6s} {:>6s}   ".format("P", "R", "F1") * len(runs)
    )
    tables = [f1_table(r.mention_pairs, CERTAINTIES) for r in runs]
    for c in CERTAINTIES:
        sup = tables[0][c][3]
        cells = "".join(f"| {t[c][0]:6.3f} {t[c][1]:6.3f} {t[c][2]:6.3f}   " for t in tables)
        print(f"{c:12s} {sup:4d} {cells}")
    print(f"{'macro-F1':17s} " + "".join(f"| {macro(t):20.4f}   " for t in tables))


def _label_report(runs: list[Run]) -> None:
    ltables = [f1_table(r.label_pairs, LABEL_VALUES) for r in runs]
    print(f"{'label value':12s} {'sup':>4s}")
    for v in LABEL_VALUES:
        sup = ltables[0][v][3]
        cells = "".join(f"| {t[v][0]:6.3f} {t[v][1]:6.3f} {t[v][2]:6.3f}   " for t in ltables)
        print(f"{'blank' if v is None else f'{v:+.1f}':12s} {sup:4d} {cells}")
    print(f"{'label macro-F1':17s} " + "".join(f"| {macro(t):20.4f}   " for t in ltables))
    acc = [sum(g == p for g, p in r.label_pairs) / max(1, len(r.label_pairs)) for r in runs]
    print(f"{'label accuracy':17s} " + "".join(f"| {a:20.4f}   " for a in acc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tune", "held", "all"), default=None, help="one split only")
    ap.add_argument("--errors", type=int, default=0, help="print the first N tune-split errors")
    ap.add_argument("--per-label", action="store_true", help="macro-F1 per CheXpert label")
    ap.add_argument("--set", type=Path, default=DATA, help="the check set (JSONL)")
    ap.add_argument(
        "--chexpert-policy", action="store_true", help="add the reader under the chexpert policy"
    )
    args = ap.parse_args()
    rows = load_rows(args.set)
    splits = [args.split] if args.split else ["all", "tune", "held"]
    ours = radpilot_labeler()
    theirs = radpilot_labeler("chexpert") if args.chexpert_policy else None
    t0 = time.perf_counter()
    for split in splits:
        part = [r for r in rows if split == "all" or r.split == split]
        runs = [
            score_rows(part, "radpilot", ours),
            score_rows(part, "naive (reader_accuracy)", naive),
        ]
        if theirs is not None:
            runs.append(score_rows(part, "radpilot, chexpert policy", theirs))
        n_m = sum(len(r.mentions) for r in part)
        n_l = sum(len(r.labels) for r in part)
        report(runs, f"split {split}: {len(part)} rows, {n_m} gold mentions, {n_l} label cells")
        if args.per_label:
            per_label_report(runs)
        if args.errors and split == "tune":
            print(f"\nfirst {args.errors} radpilot errors on the tune split:")
            for line in runs[0].errors[: args.errors]:
                print("  " + line)
    print(f"\n{time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()

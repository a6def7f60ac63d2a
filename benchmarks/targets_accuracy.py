"""Targets mode (``radpilot.reports.read_targets``) on given spans, beside medspaCy's ConText.

Six sets of marked sentences, then BioScope:

* ``benchmarks/data/clinical_targets.txt``: general clinical sentences written for radpilot
  (emergency, discharge, progress notes, radiology, pathology, cardiology, psychiatry,
  pediatrics, surgery, terse notes, hard negatives), each target marked with its gold
  certainty, historical, hypothetical and experiencer (format in the file's header). The
  rules were corrected once against it (general mechanisms only; see BENCHMARKS.md).
* ``benchmarks/data/clinical_targets_check.txt``: a second set in the same format, written
  after the rules froze and never tuned on.
* ``benchmarks/data/clinical_targets_check2.txt``: a third, written by the issue 10 §2 audit
  after its rule changes and scored once.
* ``benchmarks/data/clinical_targets_check3.txt``: a fourth, written by h/targets3 (issue 10
  §2) in styles the others are thin on (nursing and ICU shorthand, review-of-systems lists,
  medication reconciliation and allergies, social and family history, operative notes,
  dermatology, ophthalmology, obstetrics, telephone notes, templated negatives, cues near a
  target that do not negate it) and scored once, never tuned on.
* ``benchmarks/data/clinical_targets_check4.txt``: a fifth, written by h/targets4 (issue 10
  §2) by hand after clinical_cues.json 1.6.0, as many different clinicians would write
  (triage, H&P, discharge instructions, consults, radiology of many body parts, pathology,
  nursing, clinic letters, pediatrics, obstetrics, psychiatry, ROS and templated negatives,
  social and family history, medication lists, pseudo-negations and double negatives); the
  gold was decided before any run, and it was scored once, never tuned on.
* ``benchmarks/data/clinical_targets_check5.txt``: a sixth, written by h/check5 (issue 10
  §2) by hand after clinical_cues.json 1.7.0 and committed before any run, in settings the
  others list least (ICU progress notes, operative notes, anesthesia pre-op, dermatology,
  ophthalmology, ENT, dental, oncology staging, echo and cath, neurology exam, wound care,
  home health, telephone encounters, patient portal messages in lay words, transfer
  summaries, ROS / PMH / FH / SH templates, medication reconciliation, allergy lists, hard
  cases); its header adds a few conventions ("resolved", "no longer", "unlikely", PMH lists).
* BioScope's clinical development half (``../shared/data/bioscope/``): the spans are the
  mentions radpilot's reader finds in each sentence (the same spans for every system), the
  gold is the certainty BioScope's scopes give them, by the shared scorer's own rule
  (``bioscope_dev.gold_of``; mentions whose span holds their own cue are not scored, as
  there). BioScope counts "consistent with" and "A or B" as speculation; radpilot keeps its
  convention ("consistent with" states a finding).

Baseline, in the same run: medspaCy's ConText with its bundled rules, run by
``benchmarks/medspacy_context.py`` in its own venv (``--medspacy PYTHON``, default
``/work/medspacy-venv/bin/python`` or ``$RADPILOT_MEDSPACY_PYTHON``). Create it with::

    python3 -m venv /work/medspacy-venv && /work/medspacy-venv/bin/pip install medspacy

Without it the baseline columns are left out (the script says so). Usage:
``python benchmarks/targets_accuracy.py [--shared DIR] [--medspacy PYTHON] [--errors]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from radpilot.reports import read, read_targets

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "clinical_targets.txt"
CHECK = HERE / "data" / "clinical_targets_check.txt"  # written after the rules froze
CHECK2 = HERE / "data" / "clinical_targets_check2.txt"  # the issue 10 §2 audit's, the same
CHECK3 = HERE / "data" / "clinical_targets_check3.txt"  # h/targets3's, scored once
CHECK4 = HERE / "data" / "clinical_targets_check4.txt"  # h/targets4's, scored once
CHECK5 = HERE / "data" / "clinical_targets_check5.txt"  # h/check5's, committed unrun
CHECKS = (CHECK, CHECK2, CHECK3, CHECK4, CHECK5)
CERTAINTY = {"p": "present", "a": "absent", "u": "uncertain"}
_MARK = re.compile(r"\[([^\]|]+)\|([pau])([hyo ]*)\]")

Gold = dict[str, Any]
Row = tuple[str, list[tuple[int, int]], list[Gold]]


def load_marked(path: Path = DATA) -> list[Row]:
    """Sentences with ``[span|codes]`` marks -> (text, spans, gold attributes)."""
    rows: list[Row] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") and _MARK.search(line):
            # "#30 with [caries|p]" (a tooth) would be dropped as a comment (h/check5)
            raise SystemExit(f"{path}:{n}: a line that starts with '#' holds a target mark")
        if not line.strip() or line.startswith("#"):
            continue
        text, spans, gold, pos = "", [], [], 0
        for m in _MARK.finditer(line):
            text += line[pos : m.start()]
            start = len(text)
            text += m.group(1)
            spans.append((start, len(text)))
            flags = m.group(3)
            gold.append(
                {
                    "certainty": CERTAINTY[m.group(2)],
                    "historical": "h" in flags,
                    "hypothetical": "y" in flags,
                    "experiencer": "other" if "o" in flags else "patient",
                }
            )
            pos = m.end()
        text += line[pos:]
        if "[" in text or "]" in text:
            raise SystemExit(f"{path}: a mark is malformed in: {line}")
        rows.append((text, spans, gold))
    return rows


def radpilot_targets(rows: list[tuple[str, list[tuple[int, int]]]]) -> list[list[Gold]]:
    return [[a.to_dict() for a in read_targets(text, spans)] for text, spans in rows]


def medspacy_targets(
    rows: list[tuple[str, list[tuple[int, int]]]], python: str | None
) -> list[list[Gold]] | None:
    if python is None or not Path(python).is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for text, spans in rows:
                fh.write(json.dumps({"text": text, "targets": spans}) + "\n")
        subprocess.run([python, str(HERE / "medspacy_context.py"), str(src), str(out)], check=True)
        return [json.loads(line)["targets"] for line in out.open(encoding="utf-8")]


def prf(pairs: list[tuple[Any, Any]], positive: Any) -> tuple[int, float, float, float]:
    tp = sum(1 for g, p in pairs if g == positive and p == positive)
    fp = sum(1 for g, p in pairs if g != positive and p == positive)
    fn = sum(1 for g, p in pairs if g == positive and p != positive)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return tp + fn, prec, rec, f1


ATTRIBUTES = (
    ("negation (absent)", "certainty", "absent"),
    ("uncertain", "certainty", "uncertain"),
    ("present", "certainty", "present"),
    ("historical", "historical", True),
    ("hypothetical", "hypothetical", True),
    ("experiencer other", "experiencer", "other"),
)


def table(title: str, gold: list[Gold], systems: dict[str, list[Gold]]) -> None:
    names = list(systems)
    print(f"\n{title}")
    head = "".join(f" | {n:^23}" for n in names)
    print(f"{'attribute':20s} {'sup':>5s}{head}")
    print(f"{'':20s} {'':>5s}" + " |     P     R    F1    " * len(names))
    macro: dict[str, list[float]] = {n: [] for n in names}
    for label, key, positive in ATTRIBUTES:
        if not any(g[key] == positive for g in gold) and key != "certainty":
            continue
        cells, sup = [], 0
        for n in names:
            sup, p, r, f = prf(
                [(g[key], s[key]) for g, s in zip(gold, systems[n], strict=True)], positive
            )
            cells.append(f" | {p:5.3f} {r:5.3f} {f:5.3f}    ")
            if key == "certainty":
                macro[n].append(f)
        print(f"{label:20s} {sup:5d}" + "".join(cells))
    accs = {
        n: sum(g["certainty"] == s["certainty"] for g, s in zip(gold, systems[n], strict=True))
        / max(1, len(gold))
        for n in names
    }
    print(
        f"{'certainty macro-F1':20s} {len(gold):5d}"
        + "".join(f" | {sum(macro[n]) / 3:17.4f}      " for n in names)
    )
    print(
        f"{'certainty accuracy':20s} {'':5s}" + "".join(f" | {accs[n]:17.4f}      " for n in names)
    )


def bioscope_rows(
    shared: Path,
) -> tuple[list[tuple[str, list[tuple[int, int]]]], list[Gold], list[Gold]]:
    """The BioScope dev sentences with the reader's mention spans, their gold (by the
    shared scorer's rule) and the reader's own certainty of each (for reference)."""
    folder = shared / "data" / "bioscope"
    spec = importlib.util.spec_from_file_location("bioscope_dev", folder / "bioscope_dev.py")
    assert spec is not None and spec.loader is not None
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    rows, gold, reader = [], [], []
    for line in (folder / "bioscope_clinical_dev.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        spans: list[tuple[int, int]] = []
        for m in read(r["text"]).mentions:
            low = m.span.text.lower()
            if any(c and c.lower() in low for c in m.cues):
                continue  # "lungs are clear": the scorer does not score these
            g = scorer.gold_of(r["scopes"], m.span.start, m.span.end)
            if g == "mixed" or (m.span.start, m.span.end) in spans:
                continue
            spans.append((m.span.start, m.span.end))
            gold.append(
                {
                    "certainty": g,
                    "historical": False,
                    "hypothetical": False,
                    "experiencer": "patient",
                }
            )
            reader.append(
                {
                    "certainty": m.certainty.value,
                    "historical": m.historical,
                    "hypothetical": m.hypothetical,
                    "experiencer": "patient",
                }
            )
        if spans:
            rows.append((r["text"], spans))
    return rows, gold, reader


def marked_set(path: Path, medspacy: str, *, errors: bool) -> None:
    marked = load_marked(path)
    inputs = [(t, s) for t, s, _ in marked]
    gold = [g for _, _, gs in marked for g in gs]
    ours = radpilot_targets(inputs)
    theirs = medspacy_targets(inputs, medspacy)
    systems = {"radpilot targets": [a for row in ours for a in row]}
    if theirs is not None:
        systems["medspaCy ConText"] = [a for row in theirs for a in row]
    table(
        f"General clinical sentences ({path.relative_to(HERE.parent)}): {len(marked)} "
        f"sentences, {len(gold)} targets",
        gold,
        systems,
    )
    if errors:
        flat = [(t, s) for t, spans in inputs for s in spans]
        for (text, (s, e)), g, p in zip(flat, gold, systems["radpilot targets"], strict=True):
            diff = {k: (g[k], p[k]) for k in g if g[k] != p[k]}
            if diff:
                print(f"  {text[s:e]!r}: {diff} | {text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--shared", default=os.environ.get("RADPILOT_SHARED") or str(Path.cwd().parent / "shared")
    )
    ap.add_argument(
        "--medspacy",
        default=os.environ.get("RADPILOT_MEDSPACY_PYTHON", "/work/medspacy-venv/bin/python"),
    )
    ap.add_argument("--errors", action="store_true", help="print each disagreement")
    args = ap.parse_args()

    if not Path(args.medspacy).is_file():
        print(f"medspaCy baseline skipped: no interpreter at {args.medspacy} (see --help)")
    for path in (DATA, *CHECKS):
        marked_set(path, args.medspacy, errors=args.errors)

    shared = Path(args.shared)
    if not (shared / "data" / "bioscope" / "bioscope_dev.py").is_file():
        print(f"\nBioScope skipped: no data/bioscope/ under {shared} (--shared DIR)")
        return
    rows, bgold, reader = bioscope_rows(shared)
    bours = [a for row in radpilot_targets(rows) for a in row]
    bsys = {"radpilot targets": bours, "radpilot reader": reader}
    btheirs = medspacy_targets(rows, args.medspacy)
    if btheirs is not None:
        bsys["medspaCy ConText"] = [a for row in btheirs for a in row]
    counts = Counter(g["certainty"] for g in bgold)
    table(
        f"BioScope clinical dev: {len(rows)} sentences, {len(bgold)} reader mention spans "
        f"(gold present {counts['present']}, absent {counts['absent']}, uncertain {counts['uncertain']})",
        bgold,
        bsys,
    )


if __name__ == "__main__":
    main()

"""Follow-up recommendation and communication extraction (``radpilot followups extract``)
against hand-labelled sentences, beside a keyword baseline in the same run.

Two sets:

* ``benchmarks/data/followups_openi_dev.jsonl``: sentences of the OpenI DEVELOPMENT reports
  (``../shared/data/openi/dev_ids.txt`` only), labelled by reading them: every sentence of
  a dev report with a follow-up, hedge, comparison, communication or evaluation word
  (deduplicated by text, the hard negatives among them) and 80 other sentences drawn at
  random (seed 11). The OpenI text is CC BY-NC-ND, so the file holds only the report id,
  the sentence's character offsets in the text ``radpilot label`` reads (FINDINGS then
  IMPRESSION), a SHA-256 prefix of the sentence to check the reconstruction, and the
  labels; the text is rebuilt from ``NLMCXR_reports.tgz`` at run time.
* ``benchmarks/data/followups_written.jsonl``: sentences written for radpilot (text
  stored) for modalities and intervals OpenI lacks (MRI, PET, ultrasound, fluoroscopy,
  nuclear medicine, numeric intervals), management actions, hard negatives and
  communications.
* ``benchmarks/data/followups_written_check.jsonl``: a second written set in the same
  format, written after the cues froze and never tuned on.
* ``benchmarks/data/followups_written_check2.jsonl``: a third written set (issue 11), in
  many styles (US/UK, terse, templated, other modalities, intervals in words, digits and
  UK shorthand "6/52", conditionals, hedges, management actions, communications and
  read-backs, hard negatives), labelled by reading before the extractor was first run on it.
  Its errors were then fixed by cue classes, so after the fixes it is in-sample.
* ``benchmarks/data/followups_written_check3.jsonl``: a fourth written set, written and
  labelled after those fixes and before its first run: their out-of-sample check (then
  in-sample: a second round of classes came from its errors).
* ``benchmarks/data/followups_written_check4.jsonl``: written and labelled after that second
  round, before its first run.

Scored per sentence: a sentence is predicted a recommendation (communication) when one
the extractor returns for the whole report starts inside it. Kind, modality, interval
(``min-max`` days, or ``named:<phrase>`` where the text gives no days: "to resolution", "short-term") and
conditional are scored on the sentences both gold and prediction call a recommendation.
The rules were written while reading the same development reports, so the OpenI figure is
in-sample; the written set was written before its first run.

Baseline: a sentence is a recommendation when it contains recommend, suggest, consider,
correlat, follow or advis; a communication when it contains discuss, notif, call or
communicat.

Usage: ``python benchmarks/followups_eval.py [--tgz PATH] [--shared DIR] [--errors]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from radpilot.devdata import shared_dir
from radpilot.reports import read
from radpilot.reports.openi import default_tgz, iter_reports
from radpilot.workflow.followups import Followups, Recommendation, extract_report

HERE = Path(__file__).resolve().parent
OPENI_LABELS = HERE / "data" / "followups_openi_dev.jsonl"
WRITTEN = HERE / "data" / "followups_written.jsonl"
CHECK = HERE / "data" / "followups_written_check.jsonl"  # written after the cues froze
CHECK2 = HERE / "data" / "followups_written_check2.jsonl"  # issue 11: labelled before its run
CHECK3 = HERE / "data" / "followups_written_check3.jsonl"  # written after the issue-11 fixes
CHECK4 = HERE / "data" / "followups_written_check4.jsonl"  # written after round 2
BASE_REC = re.compile(r"recommend|suggest|consider|correlat|follow|advis", re.I)
BASE_COMM = re.compile(r"discuss|notif|call|communicat", re.I)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def interval_key(rec: Recommendation) -> str | None:
    iv = rec.interval
    if iv is None:
        return None
    if iv.min_days is None or iv.max_days is None:
        return "named:" + " ".join(iv.text.lower().replace("-", " ").split())
    return f"{iv.min_days}-{iv.max_days}"


def _sentence_rows(tgz: Path, dev_ids: set[str]) -> list[dict[str, Any]]:
    """The OpenI labels with their sentence text and the extractor's verdict on it."""
    labels = [json.loads(line) for line in OPENI_LABELS.read_text().splitlines() if line]
    by_report: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in labels:
        if row["report"] not in dev_ids:
            raise SystemExit(f"report {row['report']} is not in the development split")
        by_report[row["report"]].append(row)
    out = []
    for report in iter_reports(tgz):
        rows = by_report.pop(report.id, None)
        if not rows:
            continue
        found = extract_report(read(report.text))
        for row in rows:
            text = report.text[row["start"] : row["end"]]
            if _sha(text) != row["sha256"]:
                raise SystemExit(f"report {report.id} {row['start']}: the text differs")
            out.append(_scored(row, text, found, row["start"], row["end"]))
    if by_report:
        raise SystemExit(f"{len(by_report)} labelled report(s) not in {tgz}")
    return out


def _scored(
    row: dict[str, Any], text: str, found: Followups, start: int, end: int
) -> dict[str, Any]:
    rec = next((r for r in found.recommendations if start <= r.start < end), None)
    comm = any(start <= c.start < end for c in found.communications)
    return {**row, "text": text, "pred_rec": rec, "pred_comm": comm}


def _written_rows(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        found = extract_report(read(row["text"]))
        out.append(_scored(row, row["text"], found, 0, len(row["text"])))
    return out


def _prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int, int, int]:
    tp = sum(g and p for g, p in pairs)
    fp = sum(p and not g for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, tp, fp, fn


def _attributes(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    both = [r for r in rows if r["recommendation"] and r["pred_rec"] is not None]
    out = {}
    for name, pred in (
        ("kind", lambda r: r["pred_rec"].kind),
        ("modality", lambda r: r["pred_rec"].modality),
        ("interval", lambda r: interval_key(r["pred_rec"])),
        ("conditional", lambda r: r["pred_rec"].conditional),
    ):
        out[name] = (sum(pred(r) == r[name] for r in both), len(both))
    return out


def _table(name: str, rows: list[dict[str, Any]]) -> None:
    n_pos = sum(r["recommendation"] for r in rows)
    n_comm = sum(r["communication"] for r in rows)
    print(f"\n{name}: {len(rows)} sentences, {n_pos} recommendations, {n_comm} communications")
    print(f"{'task':<16}{'system':<10}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
    for task, gold, pred, base in (
        ("recommendation", "recommendation", lambda r: r["pred_rec"] is not None, BASE_REC),
        ("communication", "communication", lambda r: r["pred_comm"], BASE_COMM),
    ):
        for system, fn in (
            ("radpilot", pred),
            ("keywords", lambda r, b=base: bool(b.search(r["text"]))),
        ):
            p, rc, f1, tp, fp, fneg = _prf([(r[gold], fn(r)) for r in rows])
            print(f"{task:<16}{system:<10}{p:>7.3f}{rc:>7.3f}{f1:>7.3f}{tp:>5}{fp:>5}{fneg:>5}")
    for attr, (ok, n) in _attributes(rows).items():
        print(f"  {attr} accuracy on found recommendations: {ok}/{n} = {ok / n if n else 0:.3f}")


def _errors(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        pred = r["pred_rec"]
        wrong = (pred is not None) != r["recommendation"] or r["pred_comm"] != r["communication"]
        if pred is not None and r["recommendation"]:
            got = (pred.kind, pred.modality, interval_key(pred), pred.conditional)
            want = (r["kind"], r["modality"], r["interval"], r["conditional"])
            wrong = wrong or got != want
        else:
            got = want = None
        if wrong:
            where = r.get("report", "written")
            print(
                f"[{where}] gold rec={r['recommendation']} comm={r['communication']} {want} "
                f"| pred rec={pred is not None} comm={r['pred_comm']} {got} | {r['text']}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tgz", type=Path, default=None, help="NLMCXR_reports.tgz")
    ap.add_argument("--shared", type=Path, default=None, help="../shared")
    ap.add_argument("--errors", action="store_true", help="Print every wrong sentence.")
    args = ap.parse_args(argv)
    dev_file = (args.shared or shared_dir()) / "data" / "openi" / "dev_ids.txt"
    if not dev_file.exists():
        print(f"{dev_file}: not found (the OpenI set needs ../shared)", file=sys.stderr)
        openi: list[dict[str, Any]] = []
    else:
        openi = _sentence_rows(args.tgz or default_tgz(), set(dev_file.read_text().split()))
    written = _written_rows(WRITTEN)
    check = _written_rows(CHECK)
    check2 = _written_rows(CHECK2)
    check3 = _written_rows(CHECK3)
    check4 = _written_rows(CHECK4)
    if openi:
        _table("OpenI development sentences", openi)
    _table("written sentences", written)
    _table("written check sentences (after the cues froze)", check)
    _table("written check 2 sentences (issue 11, labelled before the first run)", check2)
    _table("written check 3 sentences (written after the issue-11 fixes)", check3)
    _table("written check 4 sentences (written after round 2)", check4)
    every = openi + written + check + check2 + check3 + check4
    _table("all", every)
    if args.errors:
        _errors(every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A user vocabulary on the OpenI development split: concepts radpilot does not label apart.

``benchmarks/data/openi_user_vocab.yaml`` adds six findings (diaphragmatic eventration,
spinal fusion, mastectomy, sarcoidosis, epicardial fat, arthritis), each with the OpenI
MeSH major term that codes it. For each, a report is predicted positive when the reader,
with the merged vocabulary, names the finding present or uncertain in a counted (not
hypothetical) mention; the gold is the report's MeSH majors (first term). Baselines in the
same run: radpilot without the file (it cannot label the concept apart: F1 0), and a
keyword matcher with the same terms (case-insensitive, word edges, no negation).

It also shows what the file changes in the CheXpert and ChestX-ray14 labels (rows whose
labels differ) and, with ``--speed``, the reading time with and without the file (process
CPU time, best of 3, all 3,955 reports; a ratio in one run: the machine is shared).

Usage: ``python benchmarks/uservocab_openi.py [--shared DIR] [--speed]``.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

from radpilot.reports import read
from radpilot.reports.labels import chestxray14, chexpert, counted
from radpilot.reports.openi import iter_reports
from radpilot.reports.uservocab import extended_vocabulary

HERE = Path(__file__).resolve().parent
VOCAB = HERE / "data" / "openi_user_vocab.yaml"
MESH = {
    "diaphragmatic_eventration": "Diaphragmatic Eventration",
    "spinal_fusion": "Spinal Fusion",
    "mastectomy": "Mastectomy",
    "sarcoidosis": "Sarcoidosis",
    "epicardial_fat": "Epicardial Fat",
    "joint_arthritis": "Arthritis",
}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--shared", default=os.environ.get("RADPILOT_SHARED") or str(Path.cwd().parent / "shared")
    )
    ap.add_argument("--speed", action="store_true")
    args = ap.parse_args()
    dev = set((Path(args.shared) / "data" / "openi" / "dev_ids.txt").read_text().split())
    reports = [r for r in iter_reports() if r.id in dev and r.text]
    vocab = extended_vocabulary(VOCAB)
    patterns = {
        fid: re.compile(
            r"(?<!\w)(?:"
            + "|".join(
                re.escape(t)
                for t in sorted(
                    {vocab.findings[fid].name, *vocab.findings[fid].synonyms}, key=len, reverse=True
                )
            )
            + r")s?(?!\w)",
            re.IGNORECASE,
        )
        for fid in MESH
    }
    counts = {fid: {"radpilot": [0, 0, 0], "keyword": [0, 0, 0]} for fid in MESH}
    changed_cx = changed_c14 = 0
    for r in reports:
        mesh = {m.split("/")[0].strip() for m in r.mesh_major}
        merged = read(r.text, vocabulary=vocab)
        plain = read(r.text)
        found = {m.finding for m in counted(merged) if m.certainty.value != "absent"}
        for fid, term in MESH.items():
            gold = term in mesh
            for name, pred in (
                ("radpilot", fid in found),
                ("keyword", bool(patterns[fid].search(r.text))),
            ):
                c = counts[fid][name]
                c[0] += gold and pred
                c[1] += (not gold) and pred
                c[2] += gold and not pred
        changed_cx += chexpert(merged) != chexpert(plain)
        changed_c14 += chestxray14(merged) != chestxray14(plain)
    print(
        f"OpenI dev ({len(reports)} reports with text), user vocabulary {VOCAB.relative_to(HERE.parent)}"
    )
    print(
        f"{'finding (MeSH term)':54s} {'sup':>4s} | {'radpilot --vocab':^19s} | {'keyword, same terms':^19s} | without file"
    )
    print(f"{'':54s} {'':>4s} |    P     R    F1   |    P     R    F1   |   F1")
    f1s = {"radpilot": [], "keyword": []}
    for fid, term in MESH.items():
        cells = []
        for name in ("radpilot", "keyword"):
            tp, fp, fn = counts[fid][name]
            p, rec, f = prf(tp, fp, fn)
            f1s[name].append(f)
            cells.append(f"{p:5.3f} {rec:5.3f} {f:5.3f}")
        sup = counts[fid]["radpilot"][0] + counts[fid]["radpilot"][2]
        print(f"{fid + ' (' + term + ')':54s} {sup:4d} | {cells[0]} | {cells[1]} | 0.000")
    print(
        f"{'macro-F1':54s} {'':4s} | {sum(f1s['radpilot']) / len(MESH):17.4f}   | "
        f"{sum(f1s['keyword']) / len(MESH):17.4f}   | 0.000"
    )
    print(
        f"reports whose CheXpert labels change with the file: {changed_cx}; ChestX-ray14: {changed_c14}"
    )
    if args.speed:
        texts = [r.text for r in iter_reports() if r.text]
        read(texts[0]), read(texts[0], vocabulary=vocab)  # compile both before timing

        def best(fn) -> float:  # type: ignore[no-untyped-def]
            times = []
            for _ in range(3):
                t0 = time.process_time()
                for t in texts:
                    fn(t)
                times.append(time.process_time() - t0)
            return min(times)

        base = best(read)
        mine = best(lambda t: read(t, vocabulary=vocab))
        print(
            f"read() on {len(texts):,} reports: packaged {len(texts) / base:,.0f}/s, with the file "
            f"{len(texts) / mine:,.0f}/s (ratio {base / mine:.3f}; CPU time, best of 3, shared machine)"
        )


if __name__ == "__main__":
    main()

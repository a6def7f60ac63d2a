"""The reports step of ``radpilot demo``: label every OpenI report through the batch path.

Writes under ``out/reports/``: ``openi_chexpert.csv`` and ``openi_chestxray14.csv`` (the
CheXpert labeler's output convention, rows in OpenI id order), ``openi_mentions.jsonl``
(every mention with its evidence) and, when the development data is beside the project,
``openi_dev_scores.json`` (per-class P/R/F1 on the DEV split against the MeSH gold).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from radpilot.devdata import OPENI_GOLD_SCRIPT, load_script, shared_dir
from radpilot.reports.batch import BatchSummary, LabelSet, label_names, label_rows, summary_table
from radpilot.reports.io import ChexpertCsvWriter, InputRow, LabelledRow, MentionsJsonlWriter

logger = logging.getLogger(__name__)


def score_dev(
    gold_module: ModuleType, chexpert: dict[str, dict[str, float | None]]
) -> dict[str, Any]:
    """Per-class P/R/F1 and macro-F1 on the DEV split only (held-out labels never read)."""
    dev = [r for r in gold_module.load() if r["split"] == "dev"]
    gold = {r["id"]: set(r["positive"]) for r in dev}
    pred = {rid: chexpert.get(rid, {}) for rid in gold}
    result: dict[str, Any] = gold_module.score(gold, pred)
    result["n_reports"] = len(dev)
    return result


def _openi_rows() -> list[InputRow]:
    from radpilot.reports.io import RowProblem, Severity
    from radpilot.reports.openi import iter_reports

    rows = []
    for i, r in enumerate(iter_reports(), start=1):
        text = r.text
        problems: tuple[RowProblem, ...] = ()
        if not text.strip():
            problems = (RowProblem(i, i, Severity.ERROR, "no FINDINGS or IMPRESSION section"),)
        rows.append(InputRow(row=i, id=r.id, text=text, problems=problems, line=i))
    return rows


def run(out: Path, console: Console) -> None:
    """Label all OpenI reports; write CSVs + JSONL; print counts, speed and dev scores."""
    folder = out / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Reports: the batch labeler on OpenI")
    rows = _openi_rows()
    sets = (LabelSet.CHEXPERT, LabelSet.CHESTXRAY14)
    names = {ls: label_names(ls) for ls in sets}
    summary = BatchSummary(label_set=LabelSet.CHEXPERT.value, label_names=names[LabelSet.CHEXPERT])
    chexpert: dict[str, dict[str, float | None]] = {}
    started = time.perf_counter()
    with (
        (folder / "openi_chexpert.csv").open("w", encoding="utf-8", newline="") as f14,
        (folder / "openi_chestxray14.csv").open("w", encoding="utf-8", newline="") as f_cxr,
        (folder / "openi_mentions.jsonl").open("w", encoding="utf-8") as f_jsonl,
    ):
        w_chex = ChexpertCsvWriter(f14, LabelSet.CHEXPERT.value, names[LabelSet.CHEXPERT])
        w_cxr = ChexpertCsvWriter(f_cxr, LabelSet.CHESTXRAY14.value, names[LabelSet.CHESTXRAY14])
        w_json = MentionsJsonlWriter(f_jsonl, LabelSet.CHEXPERT.value, names[LabelSet.CHEXPERT])
        n_mentions = 0
        for row in label_rows(rows, label_sets=sets, with_mentions=True):
            for w in (w_chex, w_cxr, w_json):
                w.write(row)
            summary.add(row)
            n_mentions += len(row.mentions or ())
            chexpert[row.id] = _as_dict(row, LabelSet.CHEXPERT, names[LabelSet.CHEXPERT])
    summary.seconds = time.perf_counter() - started

    console.print(summary_table(summary))
    console.print(
        f"OpenI: {summary.rows_read:,} reports, {summary.labelled:,} labelled, "
        f"{summary.errors:,} without FINDINGS/IMPRESSION, {n_mentions:,} mentions; "
        f"{summary.reports_per_second:,.0f} reports/s on one core",
        highlight=False,
    )
    _dev_scores(folder, console, chexpert)
    console.print(f"Reports outputs: {folder}/", highlight=False)


def _as_dict(row: LabelledRow, ls: LabelSet, names: tuple[str, ...]) -> dict[str, float | None]:
    values = row.labels.get(ls.value)
    return dict(zip(names, values, strict=True)) if values else {}


def _dev_scores(
    folder: Path, console: Console, chexpert: dict[str, dict[str, float | None]]
) -> None:
    script = shared_dir() / OPENI_GOLD_SCRIPT
    if not script.is_file():
        console.print(
            f"[dim]No development data at {script.parent} (set RADPILOT_SHARED): "
            "skipping the dev-split scores.[/]"
        )
        return
    res = score_dev(load_script(script, "radpilot_openi_gold"), chexpert)
    table = Table(
        title=f"OpenI DEV split ({res['n_reports']:,} reports) vs MeSH gold",
        title_justify="left",
    )
    for col in ("class", "support", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "class" else "right")
    per_class = {k: v for k, v in res.items() if isinstance(v, dict)}
    for name, x in per_class.items():
        table.add_row(
            name, str(x["support"]), f"{x['precision']:.3f}", f"{x['recall']:.3f}", f"{x['f1']:.3f}"
        )
    console.print(table)
    console.print(
        f"macro-F1 {res['macro_f1']:.3f} · micro-F1 {res['micro_f1']:.3f} "
        "(classes with support >= 5; uncertain counted as positive)",
        highlight=False,
    )
    (folder / "openi_dev_scores.json").write_text(json.dumps(res, indent=2) + "\n")

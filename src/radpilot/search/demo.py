"""Demo step: an archive of the 3,955 bundled OpenI reports, then negation-aware searches.

Writes ``out/search/archive.db``, one JSON file per example search and a cohort CSV.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from rich.console import Console

from radpilot.search.cohort import export_cohort
from radpilot.search.engine import hits_to_json, search
from radpilot.search.ingest import ingest_records
from radpilot.search.records import RecordError, ReportRecord, make_record
from radpilot.search.render import results_table
from radpilot.search.store import open_store

log = logging.getLogger(__name__)

EXAMPLES = (
    ("pneumothorax", "pneumothorax"),
    ("left pleural effusion -cardiomegaly", "left_effusion_without_cardiomegaly"),
    ("absent:pneumothorax rib fracture", "rib_fracture_no_pneumothorax"),
)
COHORT_QUERY = "cardiomegaly -effusion"


def _openi_items() -> list[ReportRecord | RecordError]:
    from radpilot.errors import InputError
    from radpilot.reports.openi import iter_reports

    items: list[ReportRecord | RecordError] = []
    for rep in iter_reports():
        try:
            items.append(make_record(rid=rep.id, text=rep.full_text, body_part="CHEST"))
        except InputError as exc:
            items.append(RecordError("NLMCXR_reports.tgz", f"report {rep.id}", str(exc)))
    return items


def run(out: Path, console: Console) -> None:
    folder = out / "search"
    folder.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Archive and negation-aware search[/] (OpenI, 3,955 reports)")
    t0 = time.perf_counter()
    store = open_store(folder / "archive.db")
    try:
        summary = ingest_records(store, _openi_items())
        console.print(
            f"archive {folder / 'archive.db'}: added {summary.added}, unchanged "
            f"{summary.unchanged}, skipped {summary.errors} (no text) in {summary.seconds:.1f} s"
        )
        for query, slug in EXAMPLES:
            res = search(store, query, limit=5, semantic=False)
            console.print(results_table(res, title=f"radpilot search {query!r}"))
            (folder / f"{slug}.json").write_text(json.dumps(hits_to_json(res), indent=1))
        cohort = export_cohort(store, COHORT_QUERY, folder / "cohort_cardiomegaly_no_effusion.csv")
        console.print(
            f"cohort {COHORT_QUERY!r}: {len(cohort.hits)} reports with CheXpert labels -> "
            f"{folder / 'cohort_cardiomegaly_no_effusion.csv'}"
        )
        keyword = sum(1 for _ in _keyword_hits(store.location, "pneumothorax"))
        present = len(search(store, "pneumothorax", limit=1000, semantic=False).hits)
        console.print(
            f"keyword 'pneumothorax' matches {keyword} reports; radpilot finds it present or "
            f"uncertain in {present} (the rest say 'no pneumothorax' or only ask about it)"
        )
    finally:
        store.close()
    console.print(f"[dim]search step took {time.perf_counter() - t0:.1f} s[/]")


def _keyword_hits(db: str, word: str) -> list[int]:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?", (f'"{word}"',)
        )
        return [r[0] for r in rows]
    finally:
        con.close()

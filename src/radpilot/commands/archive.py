"""`radpilot archive add|embed|stats|show`: the report archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from radpilot.errors import InputError

DB_HELP = "Archive database (default: $RADPILOT_ARCHIVE, $RADPILOT_HOME/archive.db or ~/.local/share/radpilot/archive.db)."


app = typer.Typer(
    name="archive",
    help="The report archive: ingest reports (read once), embed, inspect.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    files: list[Path] = typer.Argument(
        ...,
        help="CSV, JSONL, FHIR (.json Bundle / .ndjson), HL7 v2 (.hl7), OpenI (.xml, .tgz, folder).",
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Reports per transaction."),
    jobs: int | None = typer.Option(
        None, "--jobs", min=1, help="Reader processes (default: CPU count)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Ingest reports: upsert by id, keep earlier versions, skip bad records (listed on
    stderr). Exit 1 when nothing at all could be read."""
    from radpilot.search.ingest import IngestSummary, ingest_files
    from radpilot.search.store import open_store

    err_console = Console(stderr=True)
    store = open_store(db)
    try:
        with Progress(
            TextColumn("ingesting"),
            TextColumn("{task.fields[n]} reports"),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("ingest", total=None, n=0)

            def on_progress(s: IngestSummary) -> None:
                progress.update(task, n=s.records)

            summary = ingest_files(
                store,
                files,
                batch_size=batch_size,
                jobs=jobs,
                on_error=lambda e: typer.echo(f"skipped: {e}", err=True),
                on_progress=on_progress,
            )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(summary.as_dict()))
    else:
        typer.echo(
            f"added {summary.added}, updated {summary.updated}, unchanged {summary.unchanged}, "
            f"errors {summary.errors} ({summary.records} reports in {summary.seconds:.1f} s) -> "
            f"{store.location}"
        )
    if summary.records == 0 and summary.errors:
        # Nothing could be read at all: say so in the exit status, as `label` does.
        raise typer.Exit(1)


@app.command("embed")
def embed(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    batch_size: int = typer.Option(
        1024, "--batch-size", min=1, help="Reports per committed chunk."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Embed at most this many now."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Torch threads (default: CPU count)."
    ),
) -> None:
    """Compute sentence embeddings for semantic search (resumable: only missing ones)."""
    import os

    # Threads that spin while waiting for a busy core slow a shared machine down
    # (measured: 2 spinning threads ran at 0.67x of 1 under load); passive waiting
    # only matters before torch's OpenMP runtime starts, so set it first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from radpilot.search.semantic import MODEL_NAME, embed_archive
    from radpilot.search.store import open_store

    # The one long CPU-bound job: use every core, whatever OMP_NUM_THREADS says.
    torch.set_num_threads(threads or os.cpu_count() or 1)
    store = open_store(db)
    try:
        with Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not Console(stderr=True).is_terminal,
        ) as progress:
            task = progress.add_task("embed", total=None)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            n = embed_archive(store, batch_size=batch_size, limit=limit, on_progress=on_progress)
        have = store.embedding_count(MODEL_NAME)
    finally:
        store.close()
    typer.echo(f"embedded {n} reports ({have} with {MODEL_NAME} vectors) -> {store.location}")


@app.command("stats")
def stats(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    check: bool = typer.Option(False, "--check", help="Also run the integrity checks."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Counts, dates, size and the most frequent findings of an archive."""
    from dataclasses import asdict

    from radpilot.search.render import stats_table
    from radpilot.search.sqlite_store import SQLiteStore
    from radpilot.search.store import open_store

    store = open_store(db, readonly=not check)
    try:
        st = store.stats()
        problems = store.integrity_errors() if check and isinstance(store, SQLiteStore) else []
    finally:
        store.close()
    if as_json:
        out = asdict(st)
        if check:
            out["integrity_errors"] = problems
        typer.echo(json.dumps(out))
        return
    Console().print(stats_table(st, store.location))
    if check:
        typer.echo("integrity: ok" if not problems else "integrity: " + "; ".join(problems))
        if problems:
            raise typer.Exit(1)


@app.command("show")
def show(
    report_id: str = typer.Argument(..., help="Report id (accession)."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """One report: text, metadata, stored findings and earlier versions."""
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        rep = store.get(report_id)
        if rep is None:
            raise InputError(f"no report {report_id!r} in {store.location}")
        ments = store.mentions([rep.rowid]).get(rep.rowid, [])
        versions = store.versions(report_id)
    finally:
        store.close()
    findings: list[dict[str, Any]] = [
        {
            "finding": m.finding,
            "status": m.status,
            "certainty": m.certainty,
            "laterality": m.laterality,
            "change": m.change,
            "locations": list(m.locations),
            "section": m.section,
            "span": {
                "start": m.span[0],
                "end": m.span[1],
                "text": rep.text[m.span[0] : m.span[1]],
            },
        }
        for m in ments
    ]
    data = {
        "id": rep.id,
        "version": rep.version,
        "patient_id": rep.patient_id,
        "study_date": rep.study_date,
        "modality": rep.modality,
        "body_part": rep.body_part,
        "ingested_at": rep.ingested_at,
        "text": rep.text,
        "findings": findings,
        "labels": rep.labels,
        "earlier_versions": [{k: v for k, v in ver.items() if k != "text"} for ver in versions],
    }
    if as_json:
        typer.echo(json.dumps(data))
        return
    console = Console()
    console.print(
        f"[bold]{rep.id}[/] v{rep.version}  patient {rep.patient_id or '-'}  "
        f"date {rep.study_date or '-'}  {rep.modality or ''} {rep.body_part or ''}"
    )
    console.print(rep.text, markup=False, highlight=False)
    for f in findings:
        console.print(
            f"  {f['status']:9s} {f['finding']}  [dim]{f['span']['text']!r} ({f['section']})[/]"
        )
    if versions:
        console.print(
            f"[dim]{len(versions)} earlier version(s): "
            + ", ".join(f"v{v['version']} {v['ingested_at']}" for v in versions)
            + "[/]"
        )

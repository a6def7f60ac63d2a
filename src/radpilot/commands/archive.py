"""`radpilot archive add|embed|stats|check|show|remove|export|migrate`: the report archive."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from radpilot.commands.common import (
    DEFAULT_MAX_PROBLEMS,
    MAX_ERRORS_OPTION_HELP,
    ExitCode,
    ProblemLines,
    batch_exit,
    exit_with,
)
from radpilot.errors import InputError
from radpilot.search.export import ExportFormat

DB_HELP = "Archive database: a file, or a postgresql:// URL (default: $RADPILOT_ARCHIVE, $RADPILOT_HOME/archive.db or ~/.local/share/radpilot/archive.db)."
VOCAB_HELP = (
    "A vocabulary file (JSON or YAML, the one `radpilot label --vocab` takes) that adds or "
    "overrides findings. The archive records which vocabulary its reports were read with: "
    "`archive add` refuses another one, `search` says when it differs."
)


def load_vocab(path: Path | None) -> Any:
    """The merged vocabulary of a ``--vocab FILE`` (None without one); a bad file is
    one line per bad entry (``VocabularyError``, an input error: exit 2)."""
    if path is None:
        return None
    from radpilot.reports.uservocab import extended_vocabulary

    return extended_vocabulary(path)


app = typer.Typer(
    name="archive",
    help="The report archive: ingest reports (read once), embed, check, inspect, remove, export.",
    no_args_is_help=True,
)


def _progress(label: str, *columns: Any) -> Progress:
    err = Console(stderr=True)
    return Progress(
        TextColumn(label), *columns, console=err, transient=True, disable=not err.is_terminal
    )


@app.command("add")
def add(
    files: list[Path] = typer.Argument(
        ...,
        help="CSV, JSONL, FHIR (.json Bundle / .ndjson), HL7 v2 (.hl7), OpenI (.xml, .tgz, folder).",
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Reports per transaction."),
    jobs: int | None = typer.Option(
        None, "--jobs", min=1, help="Reader processes (default: CPU count)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    max_errors: int = typer.Option(
        DEFAULT_MAX_PROBLEMS, "--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP
    ),
    vocab: Path | None = typer.Option(None, "--vocab", metavar="FILE", help=VOCAB_HELP),
    engine: str = typer.Option(
        "local", "--engine", help="local: worker processes; spark: read on Apache Spark."
    ),
    master: str | None = typer.Option(
        None, "--master", metavar="URL", help="Spark master with --engine spark (e.g. local[2])."
    ),
    embed: bool = typer.Option(
        False, "--embed", help="With --engine spark: also compute the embeddings there."
    ),
    embed_backend: str = typer.Option(
        "torch", "--embed-backend", help="torch, onnx or onnx-int8 (with --embed)."
    ),
) -> None:
    """Ingest reports: upsert by id, keep earlier versions, skip bad records.

    --engine spark reads the reports on Spark (and with --embed computes their sentence
    embeddings there); this process writes the archive, batch by batch, as with --jobs.

    Each record that cannot be stored is one `skipped:` line on stderr naming its file
    and line, message, entry or XML (never its text); `note:` lines say how a file was
    decoded when it was not UTF-8. A damaged archive is refused before anything is
    written. Exit 0: every record stored or unchanged; 1: some records skipped; 2:
    nothing could be stored (or the archive cannot be used).
    """
    from radpilot.interop.records import RecordError
    from radpilot.search.archivevocab import check_for_add
    from radpilot.search.ingest import IngestSummary, Problem, ingest_files
    from radpilot.search.store import open_store

    spark = _spark_for_add(engine, master, embed, embed_backend)
    vocabulary = load_vocab(vocab)
    store = open_store(db)
    try:
        check_for_add(store, vocabulary)
        with (
            ProblemLines(max_errors) as lines,
            _progress("ingesting", TextColumn("{task.fields[n]} reports")) as progress,
        ):
            task = progress.add_task("ingest", total=None, n=0)

            def on_progress(s: IngestSummary) -> None:
                progress.update(task, n=s.records)

            def on_problem(p: Problem) -> None:
                bad = isinstance(p, RecordError)
                lines(f"{'skipped' if bad else 'note'}: {p}", "error" if bad else "note")

            summary = ingest_files(
                store,
                files,
                batch_size=batch_size,
                jobs=jobs,
                on_problem=on_problem,
                on_progress=on_progress,
                vocabulary=vocabulary,
                mapper=_spark_mapper(spark),
            )
        embedded = _embed_on_spark(store, spark, embed_backend) if embed else None
    finally:
        store.close()
    if embedded is not None:
        typer.echo(f"embedded {embedded} reports on Spark ({embed_backend})", err=True)
    if as_json:
        typer.echo(json.dumps(summary.as_dict()))
    else:
        notes = f", notes {summary.notes}" if summary.notes else ""
        typer.echo(
            f"added {summary.added}, updated {summary.updated}, unchanged {summary.unchanged}, "
            f"errors {summary.errors}{notes} ({summary.records} reports in "
            f"{summary.seconds:.1f} s) -> {store.location}"
        )
    exit_with(batch_exit(summary.records, summary.errors))


def _spark_for_add(engine: str, master: str | None, embed: bool, backend: str) -> Any:
    from radpilot.search.onnx_embed import BACKENDS

    if engine not in ("local", "spark"):
        raise typer.BadParameter(f"{engine!r}; valid: local, spark", param_hint="--engine")
    if engine == "local":
        if master is not None or embed:
            hint = "--master" if master is not None else "--embed"
            raise typer.BadParameter(f"{hint} needs --engine spark", param_hint=hint)
        return None
    if backend not in BACKENDS:
        raise typer.BadParameter(
            f"{backend!r}; valid: {', '.join(BACKENDS)}", param_hint="--embed-backend"
        )
    from radpilot.spark.session import get_session

    return get_session(master)


def _spark_mapper(spark: Any) -> Any:
    if spark is None:
        return None
    from radpilot.spark.archive import spark_mapper

    return spark_mapper(spark)


def _embed_on_spark(store: Any, spark: Any, backend: str) -> int:
    from radpilot.search.semantic import embed_archive
    from radpilot.spark.archive import spark_encoder

    # larger chunks than the local 1,024: one Spark job each
    return embed_archive(store, batch_size=8192, encoder=spark_encoder(spark, backend))


@app.command("embed")
def embed(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    batch_size: int = typer.Option(
        1024, "--batch-size", min=1, help="Reports per committed chunk."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Embed at most this many now."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Torch threads (default: CPU count)."
    ),
) -> None:
    """Compute sentence embeddings for semantic search (resumable: only missing ones).
    Each report is embedded as it states its findings: negated and context sentences
    are left out, so semantic ranking holds negation."""
    # Threads that spin while waiting for a busy core slow a shared machine down
    # (measured: 2 spinning threads ran at 0.67x of 1 under load); passive waiting
    # only matters before torch's OpenMP runtime starts, so set it first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from radpilot.search.semantic import MODEL_NAME, embed_archive
    from radpilot.search.store import open_store

    # The one long CPU-bound job: use every core, whatever OMP_NUM_THREADS says.
    torch.set_num_threads(threads or os.cpu_count() or 1)
    store = open_store(db, create=False)
    try:
        with _progress("embedding", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as p:
            task = p.add_task("embed", total=None)

            def on_progress(done: int, total: int) -> None:
                p.update(task, completed=done, total=total)

            n = embed_archive(store, batch_size=batch_size, limit=limit, on_progress=on_progress)
        have = store.embedding_count(MODEL_NAME)
    finally:
        store.close()
    typer.echo(f"embedded {n} reports ({have} with {MODEL_NAME} vectors) -> {store.location}")


def _check_lines(problems: list[str]) -> None:
    if not problems:
        typer.echo("integrity: ok")
        return
    typer.echo(f"integrity: {len(problems)} problem(s)")
    for line in problems:
        typer.echo(f"  {line}")


def _open_for_check(db: str | None) -> Any:
    """Writable (the full-text checks write nothing but need it), never created, without
    the check on open: this command is where a damaged archive's problems are listed."""
    from radpilot.search.models import ArchiveError
    from radpilot.search.store import open_store

    try:
        return open_store(db, create=False, verify=False)
    except ArchiveError as exc:
        if not exc.damaged:
            raise
        typer.echo(f"integrity: 1 problem(s)\n  {exc}")
        exit_with(ExitCode.CHECK_FAILED)


@app.command("check")
def check(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Check the archive's integrity: SQLite's integrity check, the full-text indexes
    against the reports, and mentions, findings and vectors that point at no report.
    Exit 0: sound; 3: problems found (listed); 2: not an archive."""
    store = _open_for_check(db)
    try:
        problems = store.check()
        reports = store.stats().reports if not problems else None
    finally:
        store.close()
    if as_json:
        typer.echo(
            json.dumps({"archive": store.location, "reports": reports, "problems": problems})
        )
    else:
        _check_lines(problems)
    exit_with(ExitCode.CHECK_FAILED if problems else ExitCode.DONE)


@app.command("stats")
def stats(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    check: bool = typer.Option(
        False, "--check", help="Also run `archive check` (exit 3 on problems)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Counts, dates, size and the most frequent findings of an archive."""
    from dataclasses import asdict

    from radpilot.search.models import ArchiveError
    from radpilot.search.render import stats_table
    from radpilot.search.store import open_store

    store = _open_for_check(db) if check else open_store(db, readonly=True)
    try:
        problems = store.check() if check else []
        try:
            st, removed = store.stats(), len(store.audit())
        except ArchiveError:
            if not problems:
                raise
            st, removed = None, 0  # too damaged to count: the problems say why
    finally:
        store.close()
    if as_json:
        out: dict[str, Any] = {**asdict(st), "removed": removed} if st is not None else {}
        if check:
            out["integrity_errors"] = problems
        typer.echo(json.dumps(out))
    else:
        if st is not None:
            Console().print(stats_table(st, store.location, removed=removed))
        if check:
            _check_lines(problems)
    if problems:
        exit_with(ExitCode.CHECK_FAILED)


@app.command("show")
def show(
    report_id: str = typer.Argument(..., help="Report id (accession)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """One report: text, metadata, stored findings and earlier versions."""
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        rep = store.get(report_id)
        if rep is None:
            raise InputError(f"no report with that id in {store.location}")
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
            "span": {"start": m.span[0], "end": m.span[1], "text": rep.text[m.span[0] : m.span[1]]},
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
    _print_report(data, versions)


def _print_report(data: dict[str, Any], versions: list[dict[str, Any]]) -> None:
    console = Console()
    console.print(
        f"[bold]{data['id']}[/] v{data['version']}  patient {data['patient_id'] or '-'}  "
        f"date {data['study_date'] or '-'}  {data['modality'] or ''} {data['body_part'] or ''}",
        highlight=False,
    )
    console.print(data["text"], markup=False, highlight=False)
    for f in data["findings"]:
        console.print(
            f"  {f['status']:9s} {f['finding']}  [dim]{f['span']['text']!r} ({f['section']})[/]"
        )
    if versions:
        console.print(
            f"[dim]{len(versions)} earlier version(s): "
            + ", ".join(f"v{v['version']} {v['ingested_at']}" for v in versions)
            + "[/]"
        )


def os_user() -> str:
    """Who runs this command, as the operating system knows them."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return f"uid {os.getuid()}"


@app.command("remove")
def remove(
    report_id: str = typer.Argument(..., help="Report id (accession) to remove."),
    reason: str = typer.Option(..., "--reason", help="Why it is removed (kept in the audit)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Remove one report with its earlier versions, findings and vectors. The archive
    keeps an audit record: who (OS user), when (UTC), which id and why. Exit 0:
    removed; 2: no such report (nothing changed)."""
    from radpilot.search.store import open_store

    if not reason.strip():
        raise InputError("--reason must say why the report is removed")
    store = open_store(db, create=False)
    try:
        removed = store.remove(report_id, user=os_user(), reason=reason.strip())
    finally:
        store.close()
    if not removed:
        raise InputError(f"no report with that id in {store.location}; nothing removed")
    typer.echo(f"removed 1 report (audit recorded) -> {store.location}")


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    fmt: ExportFormat = typer.Option(ExportFormat.JSONL, "--format", help="File format."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Export every current report (id, text, patient, date, modality, body part) as JSONL
    or CSV, in the fields `archive add` reads: adding the export back changes nothing.
    Nothing is de-identified."""
    from radpilot.search.export import export_archive
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        with _progress("exporting", TextColumn("{task.completed} reports")) as p:
            task = p.add_task("export", total=None)
            n = export_archive(
                store, out, fmt=fmt, on_progress=lambda k: p.update(task, completed=k)
            )
    finally:
        store.close()
    typer.echo(f"exported {n} reports ({fmt.value}) -> {out}")


@app.command("migrate")
def migrate(
    db: str = typer.Option(
        ..., "--db", help="The archive: a postgresql:// URL or an SQLite archive file."
    ),
) -> None:
    """Bring an archive's schema up to this radpilot's (PostgreSQL: Alembic migrations,
    an empty database gets a new archive; SQLite: the upgrade of an older file, never a
    new one). Writable opens do this too; this command does only this. Exit 0: up to
    date; 2: the archive cannot be reached, is missing or is newer."""
    from radpilot.search.pg_schema import migrate as run_migrations
    from radpilot.search.pg_schema import redact
    from radpilot.search.store import is_database_url

    if not is_database_url(db):
        was, now = _migrate_sqlite(Path(db))
        done = f"{now}: up to date" if was == now else f"{was} -> {now}"
        typer.echo(f"archive schema {done} -> {db}")
        return
    before, after = run_migrations(db)
    if before == after:
        typer.echo(f"archive schema {after}: up to date -> {redact(db)}")
    else:
        typer.echo(f"archive schema {before or 'none'} -> {after} -> {redact(db)}")


def _migrate_sqlite(path: Path) -> tuple[str, str]:
    """(schema before, after) of an SQLite archive upgraded by a writable open (which
    refuses, in one line, a missing, damaged or foreign file, or a newer schema)."""
    import sqlite3

    from radpilot.search.sqlite_schema import SCHEMA_VERSION, schema_of
    from radpilot.search.store import open_store

    before = SCHEMA_VERSION
    if path.is_file():
        try:
            probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                before = schema_of(probe) or SCHEMA_VERSION
            finally:
                probe.close()
        except sqlite3.Error:
            pass  # not an archive, or damaged: the open below says which
    open_store(path, create=False).close()
    return before, SCHEMA_VERSION

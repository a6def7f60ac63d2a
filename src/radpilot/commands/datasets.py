"""`radpilot datasets create|list|stats|assign|next|export|corrections`: datasets built by
confirming or correcting radpilot's proposals, with agreement, datasheets and exports."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from radpilot.commands.common import ExitCode, exit_with
from radpilot.datasets.bundle import Deidentifier
from radpilot.datasets.exports import ExportFormat
from radpilot.datasets.models import DatasetError, Task
from radpilot.datasets.store import DatasetStore
from radpilot.reports.rows import InputFormat

DB_HELP = (
    "Database (the archive's; default: $RADPILOT_ARCHIVE, $RADPILOT_HOME/archive.db or "
    "~/.local/share/radpilot/archive.db)."
)
DEID_KEY_ENV = "RADPILOT_DEID_KEY"

app = typer.Typer(
    name="datasets",
    help="Build annotated datasets: radpilot proposes labels (report labels with their "
    "spans, image findings with boxes), annotators confirm or correct them in the web page "
    "(`radpilot serve`), and the result is exported with a datasheet.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The dataset's name.", show_default=False)]
DbOpt = Annotated[Path | None, typer.Option("--db", help=DB_HELP)]


def _store(db: Path | None, *, readonly: bool = False) -> DatasetStore:
    from radpilot.datasets.store import open_datasets

    return open_datasets(db, readonly=readonly)


@app.command("create")
def create_command(
    name: NameArg,
    more_files: list[Path] | None = typer.Argument(
        None,
        metavar="[FILE]...",
        help="More files after --from-files FILE (`--from-files a.png b.dcm`).",
        show_default=False,
    ),
    task: Task = typer.Option(..., "--task", help="What annotators decide.", show_default=False),
    from_archive: str | None = typer.Option(
        None, "--from-archive", metavar="QUERY", help="Reports of the archive matching QUERY."
    ),
    from_files: list[Path] | None = typer.Option(
        None,
        "--from-files",
        help='Report files as `radpilot label` reads them (a JSONL row with "image" makes a '
        "report+image pair), or image files/folders as `radpilot analyze` reads them.",
    ),
    labels: str = typer.Option(
        "chexpert", "--labels", help="chexpert, chestxray14, or a vocabulary file (its findings)."
    ),
    db: DbOpt = None,
    limit: int = typer.Option(500, "--limit", min=1, help="Most archive reports to take."),
    licence: str | None = typer.Option(None, "--licence", help="The licence the datasheet states."),
    input_format: InputFormat = typer.Option(InputFormat.AUTO, "--input-format"),
    text_column: str | None = typer.Option(None, "--text-column"),
    id_column: str | None = typer.Option(None, "--id-column"),
    model: str | None = typer.Option(None, "--model", help="Image model (default: embedded)."),
) -> None:
    """Create a dataset: read the items and attach radpilot's proposals.

    Rows that cannot be read are named on stderr (never their text) and left out; the
    items keep the input order. Exit 0: every input added; 1: some left out; 2: nothing."""
    from radpilot.datasets.create import DEFAULT_LICENCE, ReadOptions, create_dataset

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    files = [*(from_files or []), *(more_files or [])]
    if more_files and not from_files:
        raise DatasetError("files are given with --from-files FILE...")
    if bool(files) == (from_archive is not None):
        raise DatasetError("give either --from-archive QUERY or --from-files FILE...")
    archive = None
    if from_archive is not None:
        from radpilot.search.store import open_store

        archive = open_store(db, readonly=True)
    store = _store(db)
    try:
        made = create_dataset(
            store,
            name,
            task,
            files=files,
            archive_query=from_archive,
            archive=archive,
            labels=labels,
            licence=licence or DEFAULT_LICENCE,
            read_options=ReadOptions(input_format, text_column, id_column),
            limit=limit,
            model=model,
            on_problem=lambda line: err.print(line, markup=False),
        )
    finally:
        store.close()
        if archive is not None:
            archive.close()
    err.print(
        f"dataset {made.dataset.name}: {made.added:,} item(s) added ({task.value}, "
        f"labels {made.dataset.label_set}) · left out {made.skipped:,} · {store.location}",
        markup=False,
    )
    exit_with(ExitCode.PARTLY_DONE if made.skipped else ExitCode.DONE)


@app.command("list")
def list_command(db: DbOpt = None) -> None:
    """The datasets in the database: name, task, items, annotators."""
    store = _store(db, readonly=True)
    try:
        for name in store.names():
            ds = store.get(name)
            n = len(store.items(ds))
            who = ", ".join(ds.annotators) or "no annotators"
            typer.echo(f"{ds.name}\t{ds.task.value}\t{n} items\t{who}")
    finally:
        store.close()


@app.command("assign")
def assign_command(
    name: NameArg,
    annotator: list[str] = typer.Option([], "--annotator", "-a", help="An annotator (repeat)."),
    per_item: int | None = typer.Option(
        None, "--per-item", min=1, help="Annotators per item (default: every annotator)."
    ),
    adjudicator: str | None = typer.Option(
        None, "--adjudicator", help="A third reader: gets the items annotators disagree on."
    ),
    db: DbOpt = None,
) -> None:
    """Assign items to annotators (blinded: none sees another's answers), or the
    disagreements to an adjudicator."""
    from radpilot.datasets.assign import assign, assign_adjudicator

    store = _store(db)
    try:
        ds = store.get(name)
        if annotator:
            for who, n in assign(store, ds, annotator, per_item=per_item).items():
                typer.echo(f"{who}: {n} item(s) assigned")
        if adjudicator:
            n = assign_adjudicator(store, ds, adjudicator)
            typer.echo(f"{adjudicator}: {n} disagreement(s) to adjudicate")
        if not annotator and not adjudicator:
            raise DatasetError("name --annotator A (repeat) or --adjudicator C")
    finally:
        store.close()


@app.command("next")
def next_command(
    name: NameArg,
    annotator: str = typer.Option(..., "--annotator", "-a", show_default=False),
    strategy: str = typer.Option("uncertainty", "--strategy", help="uncertainty, random, order."),
    count: int = typer.Option(1, "-n", min=1, help="How many items to list."),
    db: DbOpt = None,
) -> None:
    """The items an annotator gets next, by the strategy (position and reasons' score)."""
    from radpilot.datasets.active import priorities
    from radpilot.datasets.active import strategy as pick

    store = _store(db, readonly=True)
    try:
        ds = store.get(name)
        mine = store.assignments(ds).get(annotator)
        if mine is None:
            raise DatasetError(f"dataset {name!r}: nothing is assigned to {annotator!r}")
        done = {a.item_id for a in store.annotations(ds, annotator)}
        items = [it for it in store.items(ds) if it.id in set(mine[1])]
        prio = priorities(items)
        todo = [it for it in pick(strategy)(items) if it.id not in done][:count]
        for it in todo:
            typer.echo(f"item {it.position}\tpriority {prio[it.id]:.2f}")
        if not todo:
            typer.echo("nothing left to annotate")
    finally:
        store.close()


@app.command("stats")
def stats_command(
    name: NameArg,
    db: DbOpt = None,
    as_json: bool = typer.Option(False, "--json", help="The datasheet's summary as JSON."),
) -> None:
    """Counts per label, annotators (answers, median seconds, corrections), agreement."""
    from radpilot.datasets.bundle import bundle
    from radpilot.datasets.datasheet import summary

    store = _store(db, readonly=True)
    try:
        s = summary(bundle(store, name), store.assignments(store.get(name)))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False))
        return
    _print_stats(s)


def _print_stats(s: dict[str, object]) -> None:
    out = Console(width=max(100, Console().width), highlight=False)
    res = s["resolution"]
    assert isinstance(res, dict)
    out.print(
        f"{s['name']} · {s['task']} · {s['items']} items · labels {s['label_set']} · "
        + ", ".join(f"{k} {v}" for k, v in sorted(res.items()))
        + f" · awaiting adjudication {s['awaiting_adjudication']}",
        markup=False,
    )
    t = Table("label", "present", "absent", "uncertain", "blank", title="final labels")
    counts = s["counts"]
    assert isinstance(counts, dict)
    for label, c in counts.items():
        if c["present"] or c["absent"] or c["uncertain"]:
            t.add_row(label, *(str(c[k]) for k in ("present", "absent", "uncertain", "blank")))
    out.print(t)
    people = s["annotators"]
    assert isinstance(people, list)
    if people:
        a = Table("annotator", "role", "assigned", "answered", "median s", "corrections")
        for p in people:
            med = "" if p["median_seconds"] is None else f"{p['median_seconds']:.1f}"
            a.add_row(
                p["name"],
                p["role"],
                str(p["assigned"]),
                str(p["answered"]),
                med,
                str(p["corrections"]),
            )
        out.print(a)
    kappas = s["agreement"]
    assert isinstance(kappas, list)
    if kappas:
        k = Table("label", "raters", "kind", "items", "kappa", title="agreement")
        for row in kappas:
            v = row["kappa"]
            shown = "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
            k.add_row(
                row["label"], " / ".join(row["raters"]), row["kind"], str(row["items"]), shown
            )
        out.print(k)


def _deidentifier() -> Deidentifier:
    """The service's pseudonymiser (``radpilot.server.privacy``: keyed HMAC pseudonyms,
    text through the text de-identifier, dates to years) under the key in $RADPILOT_DEID_KEY."""
    key = os.environ.get(DEID_KEY_ENV)
    if not key:
        raise DatasetError(
            f"--deidentify needs a pseudonym key: set {DEID_KEY_ENV} (keep it secret; the same "
            "key gives the same pseudonyms)"
        )
    from radpilot.server.privacy import Pseudonymiser

    return Pseudonymiser(key.encode())


@app.command("export")
def export_command(
    name: NameArg,
    fmt: ExportFormat = typer.Option(..., "--format", show_default=False),
    output: Path = typer.Option(
        ..., "--output", "-o", show_default=False, help="A file (a folder for dicom-seg and hf)."
    ),
    deidentify: bool = typer.Option(
        False,
        "--deidentify",
        help=f"Pseudonymise ids, withhold text, dates to years ({DEID_KEY_ENV}).",
    ),
    licence: str | None = typer.Option(None, "--licence", help="Override the stated licence."),
    db: DbOpt = None,
) -> None:
    """Export the final labels (adjudicated, agreed, majority, else radpilot's) with a
    datasheet beside them (counts, annotators, agreement, provenance, licence)."""
    from radpilot.datasets.exports import export

    deid = _deidentifier() if deidentify else None
    store = _store(db, readonly=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        done = export(store, name, fmt, output, deid=deid, licence=licence)
    finally:
        store.close()
    for line in done.problems:
        err.print(f"warning: {line}", markup=False)
    err.print(
        f"{fmt.value}: {done.rows:,} item(s) -> {output} · datasheet "
        + ", ".join(p.name for p in done.paths[1:]),
        markup=False,
    )


@app.command("corrections")
def corrections_command(
    name: NameArg,
    output: Path = typer.Option(..., "--output", "-o", show_default=False),
    db: DbOpt = None,
) -> None:
    """Corrected report labels as regression cases (tests/reports/regression_cases.jsonl)."""
    from radpilot.datasets.bundle import bundle
    from radpilot.datasets.regression import write_cases

    store = _store(db, readonly=True)
    try:
        n = write_cases(bundle(store, name), output)
    finally:
        store.close()
    Console(stderr=True, highlight=False).print(f"{n} regression case(s) -> {output}", markup=False)

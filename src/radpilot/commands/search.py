"""`radpilot search`, `radpilot similar`, `radpilot cohort`: negation-aware case search."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from radpilot.commands.archive import DB_HELP

QUERY_HELP = (
    "Query, e.g. 'new left pneumothorax since:2024-01-01 -effusion'. A finding matches where "
    "present (uncertain ones ranked below, marked '?'); -FINDING excludes reports where it is "
    "present or uncertain; absent:F / uncertain:F / present:F; since:/until:/patient:/modality:/body:; "
    "side:/change:/loc:; other words are full-text."
)


def _merge_options(
    query: str, since: str | None, until: str | None, patient: str | None, modality: str | None
) -> str:
    import shlex

    extra = [
        f"{k}:{v}"
        for k, v in (
            ("since", since),
            ("until", until),
            ("patient", patient),
            ("modality", modality),
        )
        if v
    ]
    return " ".join([query, *(shlex.quote(e) for e in extra)])


app = typer.Typer()


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help=QUERY_HELP),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="JSON list, best first."),
    since: str | None = typer.Option(None, "--since", help="Study date from (YYYY[-MM[-DD]])."),
    until: str | None = typer.Option(None, "--until", help="Study date until (inclusive)."),
    patient: str | None = typer.Option(None, "--patient", help="Patient id."),
    modality: str | None = typer.Option(None, "--modality", help="Modality code (CR, DX, CT...)."),
    no_semantic: bool = typer.Option(False, "--no-semantic", help="Do not use embeddings."),
) -> None:
    """Find reports by finding (negation-aware), filters and words."""
    from radpilot.search.engine import hits_to_json, search
    from radpilot.search.render import results_table
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        res = search(
            store,
            _merge_options(query, since, until, patient, modality),
            limit=limit,
            semantic=not no_semantic,
        )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(hits_to_json(res)))
        return
    console = Console()
    for note in res.notes:
        console.print(f"[dim]note: {note}[/]")
    if not res.hits:
        console.print(f"no reports match {query!r}")
        return
    console.print(
        results_table(
            res, title=f"{len(res.hits)} results for {query!r} (semantic: {res.semantic})"
        )
    )


@app.command("similar")
def similar_cmd(
    report_id: str = typer.Argument(..., help="Id of the report to match."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="JSON list, best first."),
    no_semantic: bool = typer.Option(False, "--no-semantic", help="Do not use embeddings."),
) -> None:
    """More like this: embeddings when the archive has them, else findings + BM25."""
    from radpilot.search.engine import hits_to_json, similar
    from radpilot.search.render import results_table
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        res = similar(store, report_id, limit=limit, semantic=not no_semantic)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(hits_to_json(res)))
        return
    how = "embeddings" if res.semantic == "used" else "findings + BM25"
    Console().print(results_table(res, title=f"reports like {report_id} ({how})"))


@app.command("cohort")
def cohort_cmd(
    query: str = typer.Argument(..., help=QUERY_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(100_000, "--limit", min=1, help="At most this many reports."),
) -> None:
    """Export the matching reports with ids, metadata and CheXpert labels (CSV)."""
    from radpilot.search.cohort import export_cohort
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        res = export_cohort(store, query, out, limit=limit)
    finally:
        store.close()
    n_unc = sum(h.uncertain for h in res.hits)
    typer.echo(f"{len(res.hits)} reports ({n_unc} uncertain) -> {out}")

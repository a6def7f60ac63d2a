"""`radpilot search`, `radpilot similar`, `radpilot cohort`: negation-aware case search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand

from radpilot.commands.archive import DB_HELP, VOCAB_HELP, load_vocab

QUERY_HELP = (
    "Query, e.g. 'new left pneumothorax since:2024-01-01 -effusion' (one argument or "
    "several words). A finding matches where present (uncertain ones ranked below, marked "
    "'?'); -FINDING excludes reports where it is present or uncertain; absent:F / "
    "uncertain:F / present:F; since:/until:/patient:/modality:/body:; side:/change:/loc:; "
    "other words are full-text. A query may start with '-' (`radpilot search -cardiomegaly "
    "effusion`); after `--` every word is the query's."
)


class QueryCommand(TyperCommand):
    """A command whose words may start with '-': "-cardiomegaly" is a query term, not an
    unknown option. Before click parses, every argument that is not one of the command's
    own options (or an option's value) moves after a ``--``, so click reads it as a word
    of the query; ``--`` given by the user works as usual."""

    # ctx is typer's vendored click Context (typer._click.core.Context: private, so Any).
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for p in self.get_params(ctx):
            if p.param_type_name == "option":
                flag = bool(getattr(p, "is_flag", False) or getattr(p, "count", False))
                for name in (*p.opts, *p.secondary_opts):
                    takes_value[name] = not flag
        return super().parse_args(ctx, _split(args, takes_value))


def _split(args: list[str], takes_value: dict[str, bool]) -> list[str]:
    """The command's options first, then ``--`` and every other argument, in order."""
    options: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            words.extend(args[i + 1 :])
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in takes_value:
            options.append(arg)
            if takes_value[name] and "=" not in arg and i + 1 < len(args):
                options.append(args[i + 1])
                i += 1
        elif _short_with_value(arg, takes_value):
            options.append(arg)  # "-n5": a short option and its number
        else:
            words.append(arg)
        i += 1
    return [*options, "--", *words] if words else options


def _short_with_value(arg: str, takes_value: dict[str, bool]) -> bool:
    return len(arg) > 2 and takes_value.get(arg[:2], False) and arg[2:].isdigit()


def _query(words: list[str], **filters: str | None) -> str:
    from radpilot.search.query import quote_term

    extra = [quote_term(f"{k}:{v}") for k, v in filters.items() if v]
    return " ".join([*words, *extra])


app = typer.Typer()


@app.command("search", cls=QueryCommand)
def search_cmd(
    query: list[str] = typer.Argument(..., help=QUERY_HELP, show_default=False),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="JSON list, best first."),
    since: str | None = typer.Option(None, "--since", help="Study date from (YYYY[-MM[-DD]])."),
    until: str | None = typer.Option(None, "--until", help="Study date until (inclusive)."),
    patient: str | None = typer.Option(None, "--patient", help="Patient id."),
    modality: str | None = typer.Option(None, "--modality", help="Modality code (CR, DX, CT...)."),
    no_semantic: bool = typer.Option(False, "--no-semantic", help="Do not use embeddings."),
    vocab: Path | None = typer.Option(None, "--vocab", metavar="FILE", help=VOCAB_HELP),
) -> None:
    """Find reports by finding (negation-aware), filters and words. Exit 0 with or
    without matches; 2 for a query that cannot be read (one line says why)."""
    from radpilot.search.archivevocab import mismatch_note
    from radpilot.search.engine import hits_to_json, search
    from radpilot.search.render import results_table
    from radpilot.search.store import open_store
    from radpilot.search.vocab import using

    text = _query(query, since=since, until=until, patient=patient, modality=modality)
    vocabulary = load_vocab(vocab)
    store = open_store(db, readonly=True)
    try:
        mismatch = mismatch_note(store, vocabulary)
        res = search(store, text, limit=limit, semantic=not no_semantic, vocabulary=vocabulary)
    finally:
        store.close()
    notes = [mismatch, *res.notes] if mismatch else list(res.notes)
    console = Console()
    if as_json:
        typer.echo(json.dumps(hits_to_json(res)))
        _notes(notes, Console(stderr=True))
        return
    _notes(notes, console)
    shown = " ".join(query)
    if not res.hits:
        console.print(f"no reports match {shown!r}", markup=False, highlight=False, soft_wrap=True)
        return
    title = f"{len(res.hits)} results for {shown!r} (semantic: {res.semantic})"
    with using(vocabulary):  # the user's findings are shown by their names
        console.print(results_table(res, title=title))


def _notes(notes: Any, console: Console) -> None:
    for note in notes:
        console.print(f"note: {note}", style="dim", markup=False, highlight=False, soft_wrap=True)


@app.command("similar")
def similar_cmd(
    report_id: str = typer.Argument(..., help="Id of the report to match."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="JSON list, best first."),
    no_semantic: bool = typer.Option(False, "--no-semantic", help="Do not use embeddings."),
) -> None:
    """More like this: embeddings when the archive has them, else findings + words."""
    from radpilot.search.engine import hits_to_json
    from radpilot.search.render import results_table
    from radpilot.search.similar import similar
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True)
    try:
        res = similar(store, report_id, limit=limit, semantic=not no_semantic)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(hits_to_json(res)))
        return
    how = "embeddings" if res.semantic == "used" else "findings + words"
    Console().print(results_table(res, title=f"reports like {report_id} ({how})"))


@app.command("cohort", cls=QueryCommand)
def cohort_cmd(
    query: list[str] = typer.Argument(..., help=QUERY_HELP, show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(100_000, "--limit", min=1, help="At most this many reports."),
    vocab: Path | None = typer.Option(None, "--vocab", metavar="FILE", help=VOCAB_HELP),
) -> None:
    """Export the matching reports with ids, metadata and CheXpert labels (CSV)."""
    from radpilot.search.archivevocab import mismatch_note
    from radpilot.search.cohort import export_cohort
    from radpilot.search.store import open_store

    vocabulary = load_vocab(vocab)
    store = open_store(db, readonly=True)
    try:
        mismatch = mismatch_note(store, vocabulary)
        res = export_cohort(store, _query(query), out, limit=limit, vocabulary=vocabulary)
    finally:
        store.close()
    _notes([mismatch, *res.notes] if mismatch else res.notes, Console(stderr=True))
    n_unc = sum(h.uncertain for h in res.hits)
    typer.echo(f"{len(res.hits)} reports ({n_unc} uncertain) -> {out}")

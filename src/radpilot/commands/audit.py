"""`radpilot audit verify|list`: the service's audit trail (a hash chain)."""

from __future__ import annotations

import json

import typer

from radpilot.commands.common import ExitCode, exit_with
from radpilot.commands.users import DB_HELP

app = typer.Typer(
    name="audit",
    help="The service's audit trail: who read or wrote which patient data, when, from where.",
    no_args_is_help=True,
)


@app.command("verify")
def verify_cmd(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Check the hash chain. Exit 0 sound (prints the head hash: keep it elsewhere to
    detect a cut-off end later); 3 broken (names the first bad entry)."""
    from radpilot.server.audit import verify
    from radpilot.server.store import open_service_store

    store = open_service_store(db)
    try:
        result = verify(store)
    finally:
        store.close()
    if not result.ok:
        typer.echo(f"audit trail broken at entry {result.first_bad}: {result.problem}", err=True)
        exit_with(ExitCode.CHECK_FAILED)
        return
    typer.echo(f"audit trail sound: {result.entries} entries, head {result.head}")


@app.command("list")
def list_cmd(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    after: int = typer.Option(0, "--after", min=0, help="Only entries after this number."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="At most this many entries."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines, one entry each."),
) -> None:
    """Entries oldest first: number, time, who (role), action, target ids, client, outcome."""
    from radpilot.server.store import open_service_store

    store = open_service_store(db)
    try:
        entries = store.audit_entries(after=after, limit=limit)
    finally:
        store.close()
    for e in entries:
        if as_json:
            typer.echo(json.dumps(e.to_dict()))
            continue
        ev = e.event
        typer.echo(
            f"{e.seq}\t{e.at}\t{ev.actor} ({ev.role})\t{ev.action}\t{ev.target}\t{ev.client}"
            f"\t{ev.outcome}"
        )

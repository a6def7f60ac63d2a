"""`radpilot users add|list|disable`: the service's accounts (argon2id password hashes)."""

from __future__ import annotations

import getpass
import json
import sys

import typer

from radpilot.commands.common import ExitCode, exit_with

DB_HELP = (
    "The service database: the archive's file (a path; default as for `radpilot archive`) "
    "or a URL of a registered backend."
)
ROLE_HELP = (
    "radiologist (patient data), researcher (de-identified data only) or admin (accounts, audit)."
)

app = typer.Typer(name="users", help="The service's users and their roles.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        from radpilot.errors import InputError

        raise InputError("no terminal to ask for the password on; use --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        from radpilot.errors import InputError

        raise InputError("the two passwords differ")
    return first


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (letters, digits, . _ @ -)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Add a user. The password is asked twice on the terminal, or read from stdin."""
    from radpilot.server.access import Role
    from radpilot.server.accounts import add_user, check_name, check_password
    from radpilot.server.store import open_service_store

    the_role = Role.parse(role)
    check_name(name)
    password = check_password(_password(password_stdin))
    store = open_service_store(db)
    try:
        add_user(store, name, the_role, password)
    finally:
        store.close()
    typer.echo(f"added user {name} ({the_role.value})")


@app.command("list")
def list_cmd(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="A JSON list."),
) -> None:
    """Every user: name, role, enabled or disabled, when added."""
    from radpilot.server.store import open_service_store

    store = open_service_store(db)
    try:
        users = store.users()
    finally:
        store.close()
    rows = [
        {"name": u.name, "role": u.role.value, "disabled": u.disabled, "created": u.created}
        for u in users
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = "disabled" if r["disabled"] else "enabled"
        typer.echo(f"{r['name']}\t{r['role']}\t{state}\t{r['created']}")


@app.command("disable")
def disable(
    name: str = typer.Argument(..., help="User name."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Disable a user: their logins fail and every token they hold is revoked."""
    from radpilot.errors import InputError
    from radpilot.server.accounts import disable_user
    from radpilot.server.store import open_service_store

    store = open_service_store(db)
    try:
        revoked = disable_user(store, name)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        exit_with(ExitCode.NOTHING_DONE)
        return
    finally:
        store.close()
    typer.echo(f"disabled {name}; {revoked} token(s) revoked")

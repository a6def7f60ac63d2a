"""The ``radpilot`` command line. Each command lives in its own small module
under ``radpilot.commands`` and calls plain library functions."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from radpilot.errors import RadpilotError

app = typer.Typer(
    name="radpilot",
    help="radpilot: a radiology copilot. It assists; it does not diagnose.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# Order is the order of `radpilot --help`.
COMMAND_MODULES = (
    "label",
    "archive",
    "search",
    "evaluate",
    "analyze",
    "compare",
    "models",
    "demo",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"radpilot.commands.{_name}").register(app)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    try:
        app()
    except RadpilotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

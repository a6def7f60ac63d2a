"""The ``radpilot`` command line. Each command is a module-level typer ``app`` in its own
module under ``radpilot.commands``, registered in ``radpilot.registry.commands``; each
calls plain library functions and only prints.

Exit codes (the same for every command; ``radpilot --help`` shows them):

==== =====================================================================================
0    everything asked for was done
1    partly done: some inputs (rows, records, files) failed, each named on stderr; the
     rest is done and written
2    nothing done: a usage error, an input or output that cannot be used, or every input
     failed
3    a check ran and found problems (``archive check``, ``archive stats --check``, ``qa``)
70   an internal error (a bug): one line names its type; ``--verbose`` adds the traceback
130  interrupted (Ctrl-C)
==== =====================================================================================
"""

from __future__ import annotations

import logging
import sys
import traceback

import typer

from radpilot import __version__, registry
from radpilot.commands.common import ExitCode
from radpilot.errors import RadpilotError

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 partly done (failed inputs named on stderr); 2 nothing done "
    "(usage error, unusable input or output); 3 a check found problems; 70 internal error; "
    "130 interrupted."
)

# The order of `radpilot --help`; commands registered by other packages follow.
COMMAND_ORDER = (
    "label",
    "archive",
    "search",
    "evaluate",
    "analyze",
    "compare",
    "models",
    "demo",
    "followups",
    "draft",
    "ask",
    "worklist",
    "timeline",
    "qa",
    "dicom",
    "export",
    "deidentify",
    "datasets",
    "serve",
    "users",
    "audit",
)

_verbose = False


def _new_app() -> typer.Typer:
    new = typer.Typer(
        name="radpilot",
        help="radpilot: a radiology copilot. It assists; it does not diagnose.\n\n"
        + EXIT_CODES_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="markdown",
    )
    new.callback()(_root)
    return new


def _add_commands(to: typer.Typer) -> None:
    names = [registry.commands.resolve(n) for n in COMMAND_ORDER]
    names += [n for n in registry.commands.names() if n not in names]
    for name in names:
        to.add_typer(registry.commands.get(name))


_full: typer.Typer | None = None


def full_app() -> typer.Typer:
    """The whole CLI, every command (``radpilot --help`` lists them); built once."""
    global _full
    if _full is None:
        _full = _new_app()
        _add_commands(_full)
    return _full


def _app_for(argv: list[str]) -> typer.Typer:
    """The CLI to run ``argv`` with: only the command it names, when one is named (so that
    ``radpilot label`` never imports the image, search or evaluation stacks); else all."""
    word = next((a for a in argv if not a.startswith("-")), None)
    if word is None or word not in registry.commands:
        return full_app()
    one = _new_app()
    one.add_typer(registry.commands.get(word))
    group = typer.main.get_command(one)
    if word in getattr(group, "commands", {}):
        return one
    return full_app()  # a registered name that is not its command's word


def _version(value: bool) -> None:
    if value:
        typer.echo(f"radpilot {__version__}")
        raise typer.Exit()


def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print radpilot's version and exit.",
    ),
) -> None:
    global _verbose
    _verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # ``from radpilot.commands.main import app``: the whole CLI
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """The console entry point: a user's mistake is one line, never a traceback."""
    raise SystemExit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``) and return its exit code.
    typer itself answers usage errors (2), ``typer.Exit`` and Ctrl-C (130)."""
    try:
        args = sys.argv[1:] if argv is None else list(argv)
        _app_for(args)(args=args, prog_name="radpilot")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.DONE
    except RadpilotError as exc:
        typer.echo(f"error: {exc}", err=True)
        return ExitCode.NOTHING_DONE
    except OSError as exc:
        # An input or output path the OS refused (a folder under a file, no permission,
        # a full disk): the path and the reason, which hold no report text.
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or type(exc).__name__}", err=True)
        return ExitCode.NOTHING_DONE
    except Exception as exc:
        return _internal_error(exc)
    return ExitCode.DONE


def _internal_error(exc: BaseException) -> int:
    # A bug. Its message may quote report text, so only its type is printed unless the
    # user asked for details.
    if _verbose:
        traceback.print_exception(exc)
    typer.echo(
        f"error: internal error ({type(exc).__name__}); this is a bug in radpilot. "
        "Rerun with --verbose for the traceback.",
        err=True,
    )
    return ExitCode.INTERNAL_ERROR

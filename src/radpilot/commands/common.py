"""What every command shares: exit codes and capped problem lines on stderr."""

from __future__ import annotations

from enum import IntEnum

import typer
from rich.console import Console

DEFAULT_MAX_PROBLEMS = 50


class ExitCode(IntEnum):
    """The exit status of every command (documented in ``radpilot --help`` and the README)."""

    DONE = 0
    PARTLY_DONE = 1  # some inputs failed, each named on stderr; the rest is done
    NOTHING_DONE = 2  # usage error, unusable input or output, or every input failed
    CHECK_FAILED = 3  # a check ran and found problems
    INTERNAL_ERROR = 70  # a bug (EX_SOFTWARE)
    INTERRUPTED = 130


def batch_exit(done: int, failed: int) -> ExitCode:
    """The exit code of a batch that finished ``done`` inputs and failed ``failed``."""
    if failed == 0:
        return ExitCode.DONE
    return ExitCode.PARTLY_DONE if done > 0 else ExitCode.NOTHING_DONE


def exit_with(code: ExitCode) -> None:
    """End the command with ``code`` (nothing happens for DONE)."""
    if code is not ExitCode.DONE:
        raise typer.Exit(int(code))


class ProblemLines:
    """Prints one stderr line per problem, up to ``limit``; ``close()`` then says how many
    more there were, so 820 empty rows print 50 lines and a count, not 820 lines.
    Lines are printed as given: callers pass messages that name files, rows, lines and
    fields, never report text."""

    def __init__(self, limit: int = DEFAULT_MAX_PROBLEMS, console: Console | None = None):
        self.limit = limit
        self.console = console or Console(stderr=True)
        self.count = 0
        self.by_severity: dict[str, int] = {}

    def __call__(self, line: str, severity: str = "error") -> None:
        self.count += 1
        self.by_severity[severity] = self.by_severity.get(severity, 0) + 1
        if self.count <= self.limit:
            self.console.print(line, soft_wrap=True, highlight=False, markup=False)

    def close(self) -> None:
        hidden = self.count - self.limit
        if hidden > 0:
            self.console.print(
                f"... and {hidden:,} more problem line(s) not shown (--max-errors N shows more)",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )

    def __enter__(self) -> ProblemLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAX_ERRORS_OPTION_HELP = "Print at most N problem lines on stderr (then a count of the rest)."

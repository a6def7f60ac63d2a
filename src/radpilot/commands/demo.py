"""`radpilot demo`: radpilot's main jobs on bundled data, run as the CLI commands a user
would type, with every output under one folder.

Each capability contributes a step, registered in ``radpilot.registry.demo_steps``: a
generator that prepares what it needs (a gold table, an input file) and yields the
:class:`Command` lines to run and the :class:`Note` lines to print. Each command is printed
as ``$ radpilot ...`` and run in this process through the same entry point as the console
script, so the demo cannot take a path the CLI does not.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from radpilot import registry
from radpilot.commands.common import ExitCode, exit_with
from radpilot.devdata import shared_dir

# The order the steps run in; steps registered by other packages follow.
STEP_ORDER = ("reports", "evaluate", "search", "imaging", "workflow")


@dataclass(frozen=True)
class Command:
    """One ``radpilot`` command line; ``ok`` lists the exit codes the step expects (a step
    that feeds a bad file on purpose expects 1, partly done)."""

    argv: tuple[str, ...]
    ok: tuple[int, ...] = (ExitCode.DONE,)


@dataclass(frozen=True)
class Note:
    """A line the demo prints between commands (rich markup allowed)."""

    text: str


@dataclass(frozen=True)
class Context:
    out: Path  # every output goes below this folder
    shared: Path | None  # the development data beside the checkout, when it is there
    console: Console

    def folder(self, name: str) -> Path:
        path = self.out / name
        path.mkdir(parents=True, exist_ok=True)
        return path


Step = Callable[[Context], Iterator[Command | Note]]


class DemoFailed(Exception):
    pass


def _shown(arg: str) -> str:
    """Paths relative to the working directory where that is shorter, for reading."""
    try:
        rel = os.path.relpath(arg)
    except ValueError:
        return shlex.quote(arg)
    return shlex.quote(rel if os.path.isabs(arg) and len(rel) < len(arg) else arg)


def run_command(command: Command, console: Console) -> int:
    from radpilot.commands.main import run

    console.print(
        "$ radpilot " + " ".join(_shown(a) for a in command.argv),
        style="bold cyan",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return run(list(command.argv))


def step_names() -> list[str]:
    names = [registry.demo_steps.resolve(n) for n in STEP_ORDER if n in registry.demo_steps]
    return names + [n for n in registry.demo_steps.names() if n not in names]


def run_demo(out: Path, console: Console, steps: list[str] | None = None) -> None:
    shared = shared_dir()
    ctx = Context(out=out, shared=shared if shared.is_dir() else None, console=console)
    for name in steps or step_names():
        step: Step = registry.demo_steps.get(name)
        console.rule(f"[bold]demo step {name}")
        started = time.perf_counter()
        for item in step(ctx):
            if isinstance(item, Note):
                console.print(item.text, highlight=False)
                continue
            code = run_command(item, console)
            if code not in item.ok:
                raise DemoFailed(
                    f"demo step {name}: `radpilot {' '.join(item.argv)}` exited {code}, "
                    f"expected {' or '.join(str(c) for c in item.ok)}"
                )
        console.print(f"[dim]step {name} took {time.perf_counter() - started:.1f} s[/]")


app = typer.Typer()


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for every output."),
    step: list[str] = typer.Option(
        None, "--step", help="Run only this step (repeatable); default: every step."
    ),
) -> None:
    """Run radpilot's main jobs on bundled sample data, as the CLI commands a user would
    type (each is printed before it runs), and write every output under OUT."""
    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    try:
        run_demo(out, console, step or None)
    except DemoFailed as exc:
        console.print(f"[bold red]demo failed:[/] {exc}", highlight=False)
        exit_with(ExitCode.NOTHING_DONE)
    console.print(f"[bold green]Demo finished.[/] Outputs are under {out}/")

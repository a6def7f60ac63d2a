"""`radpilot demo`: the main job on bundled data, outputs under one folder."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from rich.console import Console

# Each capability contributes one step: a module with ``run(out: Path, console: Console)``.
DEMO_STEPS = (
    "radpilot.reports.demo",
    "radpilot.evaluate.demo",
    "radpilot.search.demo",
    "radpilot.imaging.demo",
)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for every output."),
    ) -> None:
        """Run radpilot's main jobs on bundled sample data and write results under OUT."""
        console = Console()
        out.mkdir(parents=True, exist_ok=True)
        for step in DEMO_STEPS:
            importlib.import_module(step).run(out, console)
        console.print(f"[bold green]Demo finished.[/] Outputs are under {out}/")

"""`radpilot models list|info|pull|import`: the image model registry and the
local weights cache. Downloading is its own explicit step; nothing else in
radpilot ever fetches weights."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="models",
    help="Image models: list them, show a model card, install weights (pull or import).",
    no_args_is_help=True,
)

_CACHE_HELP = "Models cache folder (default: $RADPILOT_HOME/models or ~/.cache/radpilot/models)."


def _status(name: str, cache_dir: Path | None) -> str:
    from radpilot.imaging import registry

    c = registry.card(name)
    if c.weights.bundled:
        return "bundled"
    return "installed" if registry.is_installed(name, cache_dir) else "not installed"


@app.command("list")
def list_models(
    cache_dir: Path = typer.Option(None, "--cache-dir", help=_CACHE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """Every registered model, whether its weights are here, and its card summary."""
    from radpilot.imaging import registry
    from radpilot.registry import split_version

    rows = []
    for name in registry.names():
        c = registry.card(name)
        rows.append(
            {
                "name": name,
                "task": c.task.value,
                "status": _status(name, cache_dir),
                "default": name == registry.DEFAULT_MODEL,
                "labels": len(c.labels),
                "input": f"{c.preprocessing.input_size} px",
                "runtime": split_version(c.runtime)[0],
                "accuracy_measured_here": c.accuracy_measured_here,
                "architecture": c.architecture.split(" (")[0],
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="radpilot image models", caption="* default model")
    for col in ("name", "task", "px", "labels", "runtime", "weights", "accuracy"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        colour = {"bundled": "green", "installed": "green"}.get(str(r["status"]), "yellow")
        table.add_row(
            f"{r['name']}{' *' if r['default'] else ''}",
            {"classification": "classify", "segmentation": "segment"}[str(r["task"])],
            str(r["input"]).removesuffix(" px"),
            str(r["labels"]),
            str(r["runtime"]),
            f"[{colour}]{r['status']}[/]",
            "measured" if r["accuracy_measured_here"] else "not measured",
        )
    Console().print(table)


@app.command("info")
def info(
    name: str = typer.Argument(..., help="Model name (see `radpilot models list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole model card as JSON."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=_CACHE_HELP),
) -> None:
    """A model's card: intended use, labels, thresholds, preprocessing, figures, weights."""
    from radpilot.imaging import registry

    c = registry.card(name)
    if as_json:
        typer.echo(json.dumps(c.model_dump(mode="json"), indent=2))
        return
    console = Console()
    console.print(f"[bold]{c.name}[/] {c.version} — {c.architecture}")
    console.print(f"[bold]Intended use:[/] {c.intended_use}")
    console.print(f"[bold]Weights:[/] {c.weights.file} ({_status(name, cache_dir)})")
    console.print(f"[bold]Preprocessing:[/] {c.preprocessing.description}")
    console.print(f"[bold]Operating points:[/] {c.threshold_method}")
    table = Table()
    table.add_column("label")
    table.add_column("threshold", justify="right")
    for label in c.labels:
        thr = c.thresholds.get(label)
        table.add_row(label, "—" if thr is None else f"{thr:.4g}")
    console.print(table)
    if c.measured:
        figs = Table(title="measured by radpilot")
        for col in ("metric", "value", "95% CI", "dataset / split", "n"):
            figs.add_column(col)
        for f in c.measured:
            ci = "" if f.ci_low is None else f"{f.ci_low:.3f}–{f.ci_high:.3f}"
            figs.add_row(f.metric, f"{f.value:.3f}", ci, f"{f.dataset} / {f.split}", str(f.n))
        console.print(figs)
    else:
        console.print("[yellow]Accuracy: not measured by radpilot (see limitations).[/]")
    for lim in c.limitations:
        console.print(f" • {lim}")


@app.command("pull")
def pull(
    name: str = typer.Argument(..., help="Model name (see `radpilot models list`)."),
    url: str = typer.Option(None, "--url", help="Download from this URL instead of the card's."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=_CACHE_HELP),
    timeout: float = typer.Option(30.0, "--timeout", help="Network timeout in seconds."),
) -> None:
    """Download a model's weights into the cache (resumes an interrupted download;
    checks the SHA-256, or pins it on first install)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from radpilot.imaging import cache, registry

    c = registry.card(name)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(f"pull {name}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        path = cache.pull(
            c,
            url=url,
            cache_dir=cache_dir,
            progress=progress,
            timeout=timeout,
            validate=registry.validator(name),
        )
    registry.clear_loaded()
    typer.echo(f"installed {name}: {path} (sha256 {cache.sha256_of(path)})")


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Model name (see `radpilot models list`)."),
    file: Path = typer.Argument(..., help="The weights file, copied in by hand."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=_CACHE_HELP),
) -> None:
    """Install a weights file obtained by other means (air-gapped sites), with the
    same checks as `pull`."""
    from radpilot.imaging import cache, registry

    c = registry.card(name)
    path = cache.import_file(c, file, cache_dir=cache_dir, validate=registry.validator(name))
    registry.clear_loaded()
    typer.echo(f"installed {name}: {path} (sha256 {cache.sha256_of(path)})")

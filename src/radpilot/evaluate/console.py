"""Rich tables and progress for the terminal (the CLI and the demo print these)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from radpilot.evaluate.html import WILSON_NOTE, fmt, shown_ci


def fmt_ci(value: Any, ci: Any) -> str:
    """Value above its interval, so that tables fit an 80-column terminal."""
    if value is None:
        return "—"
    if not ci:
        return fmt(value)
    lo, hi = (f"{v:.3f}".replace("0.", ".", 1) for v in ci)
    return f"{fmt(value)}\n[dim]{lo}–{hi}[/]"


@contextmanager
def bootstrap_progress(
    console: Console, label: str = "bootstrap"
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar fed ``(resamples done now, total resamples)``; nothing when the
    output is not a terminal (logs and CI stay clean)."""
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def advance(n: int, total: int) -> None:
            progress.update(task, advance=n, total=total)

        yield advance


def _shown(r: Mapping[str, Any], key: str) -> str:
    ci, is_wilson = shown_ci(r, key)
    text = fmt_ci(r[key], ci)
    return text.replace("[/]", " W[/]") if is_wilson else text


def _name_n(name: str, r: Mapping[str, Any]) -> str:
    return f"{name}\n[dim]{r['n_positive']}/{r['n']} pos[/]"


def classification_table(metrics: Mapping[str, Any], title: str = "Classification") -> Table:
    level = int(metrics["settings"]["ci_level"] * 100)
    table = Table(
        title=f"{title} ({level}% CI below each value)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("finding", min_width=12, overflow="fold")
    for col in ("AUROC", "AUPRC", "sens", "spec", "F1"):
        table.add_column(col, justify="right", no_wrap=True, min_width=9)
    for name, r in metrics["findings"].items():
        if r.get("auroc") is None:
            table.add_row(_name_n(name, r), "[dim]not scored[/]", "", "", "", "")
            continue
        table.add_row(
            _name_n(name, r),
            fmt_ci(r["auroc"], r.get("auroc_ci")),
            fmt_ci(r["auprc"], r.get("auprc_ci")),
            _shown(r, "sensitivity"),
            _shown(r, "specificity"),
            fmt_ci(r["f1"], r.get("f1_ci")),
        )
    if any(
        shown_ci(r, k)[1]
        for r in metrics["findings"].values()
        for k in ("sensitivity", "specificity")
    ):
        table.caption = WILSON_NOTE
        table.caption_justify = "left"
    macro = metrics.get("macro")
    if macro and macro.get("auroc") is not None:
        table.add_row(
            "[bold]macro[/]",
            fmt(macro["auroc"]),
            fmt(macro["auprc"]),
            fmt(macro["sensitivity"]),
            fmt(macro["specificity"]),
            fmt(macro["f1"]),
        )
    return table


def comparison_table(metrics: Mapping[str, Any]) -> Table | None:
    comps = {n: r["comparison"] for n, r in metrics["findings"].items() if "comparison" in r}
    if not comps:
        return None
    table = Table(title="Model A vs model B (DeLong)", title_justify="left")
    for col in ("finding", "AUROC A", "AUROC B", "A − B (95% CI)", "p"):
        table.add_column(col, justify="left" if col == "finding" else "right")
    for n, c in comps.items():
        table.add_row(
            n,
            fmt(c["auroc_a"]),
            fmt(c["auroc_b"]),
            fmt_ci(c["difference"], c["difference_ci"]),
            f"{c['p_value']:.3g}",
        )
    return table


def labeler_table(metrics: Mapping[str, Any], title: str = "Report labeler") -> Table:
    """F1 per finding for each class that the gold uses at all."""
    findings = metrics["findings"]
    classes = [
        c for c in metrics["macro"] if any(per[c]["support"] > 0 for per in findings.values())
    ]
    level = int(metrics["settings"]["ci_level"] * 100)
    table = Table(
        title=f"{title}: F1 ({level}% CI below; gold count in brackets)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("finding", min_width=12, overflow="fold")
    for cls in classes:
        table.add_column(cls, justify="right", no_wrap=True, min_width=9)
    for name, per in findings.items():
        cells = []
        for cls in classes:
            e = per[cls]
            if e["support"] == 0:
                cells.append(f"[dim]— ({e['predicted']} predicted)[/]")
            else:
                cells.append(fmt_ci(e["f1"], e["f1_ci"]).replace("\n", f" [{e['support']}]\n", 1))
        table.add_row(name, *cells)
    for avg in ("macro", "micro"):
        table.add_row(
            f"[bold]{avg}[/]",
            *(fmt_ci(metrics[avg][c]["f1"], metrics[avg][c]["f1_ci"]) for c in classes),
        )
    return table


def readers_table(metrics: Mapping[str, Any]) -> Table:
    level = int(metrics["settings"]["ci_level"] * 100)
    table = Table(
        title=f"Readers ({level}% CI below)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("finding", min_width=10, overflow="fold")
    table.add_column("reader", overflow="fold")
    for col in ("sens", "spec", "F1"):
        table.add_column(col, justify="right", no_wrap=True, min_width=9)
    for finding, e in metrics["findings"].items():
        if "readers" not in e:
            table.add_row(finding, "[dim]not scored[/]", "", "", "")
            continue
        rows = {**e["readers"], "average": e["average_reader"]}
        for i, (name, r) in enumerate(rows.items()):
            table.add_row(
                finding if i == 0 else "",
                name,
                fmt_ci(r["sensitivity"], r["sensitivity_ci"]),
                fmt_ci(r["specificity"], r["specificity_ci"]),
                fmt_ci(r["f1"], r["f1_ci"]),
            )
        mv = e.get("model_vs_average_reader")
        if mv:
            table.add_row(
                "",
                "model − average",
                fmt_ci(mv["sensitivity_difference"], mv["sensitivity_difference_ci"]),
                fmt_ci(mv["specificity_difference"], mv["specificity_difference_ci"]),
                fmt_ci(mv["f1_difference"], mv["f1_difference_ci"]),
            )
        if e.get("fleiss_kappa") is not None:
            ci = e.get("fleiss_kappa_ci")
            extra = f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
            table.add_row("", f"[dim]Fleiss' kappa {e['fleiss_kappa']:.3f}{extra}[/]", "", "", "")
    return table


def reports_table(metrics: Mapping[str, Any]) -> Table:
    from radpilot.evaluate.pages import text_rows

    level = int(metrics["settings"]["ci_level"] * 100)
    table = Table(
        title=f"Report text, {metrics['n']} pairs ({level}% CI)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric")
    table.add_column("value", justify="right", no_wrap=True)
    for label, value in text_rows(metrics):
        table.add_row(label, value)
    return table

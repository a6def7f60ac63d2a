"""`radpilot evaluate`: measure models, labelers and readers against gold labels."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from radpilot.evaluate.labeler import LabelerUncertain
from radpilot.evaluate.tables import BlankPolicy, UncertainPolicy

app = typer.Typer(
    name="evaluate",
    help="Measure a model, a report labeler or report drafts against gold labels, with CIs.",
    no_args_is_help=True,
)

_BOOT = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the CIs (0: none).")
_SEED = typer.Option(0, "--seed", help="Seed of the bootstrap.")
_LEVEL = typer.Option(0.95, "--ci-level", help="Confidence level of the intervals.")
_OUT = typer.Option(None, "--out", "-o", help="Folder for metrics.json and report.html.")
_ID = typer.Option("id", "--id-column", help="Column that matches rows across files.")
_UNC = typer.Option(
    UncertainPolicy.IGNORE,
    "--uncertain",
    help="Uncertain (-1) gold labels become 1, 0 or are left out.",
)


def _write(console: Console, out: Path | None, metrics: dict, page: object) -> None:
    from radpilot.evaluate.html import Page, write_outputs

    if out is None:
        return
    written = write_outputs(out, metrics, page if isinstance(page, Page) else None)
    console.print("wrote " + ", ".join(str(p) for p in written))


def _classification(
    *,
    gold: Path,
    pred: Path,
    pred_b: Path | None,
    out: Path | None,
    id_column: str,
    finding: list[str] | None,
    thresholds: str | None,
    at_sensitivity: list[float] | None,
    at_specificity: list[float] | None,
    uncertain: UncertainPolicy,
    blank: BlankPolicy,
    subgroup: list[str] | None,
    bootstrap: int,
    seed: int,
    ci_level: float,
    title: str,
) -> None:
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.classification import evaluate
    from radpilot.evaluate.pages import classification_page

    console = Console()
    thr: float | str | None = thresholds
    if thresholds is not None:
        try:
            thr = float(thresholds)
        except ValueError:
            thr = thresholds
    with ui.bootstrap_progress(console) as progress:
        result = evaluate(
            gold,
            pred,
            pred_b=pred_b,
            id_column=id_column,
            findings=finding or None,
            thresholds=thr,
            at_sensitivity=at_sensitivity or (),
            at_specificity=at_specificity or (),
            uncertain=uncertain,
            blank=blank,
            subgroups=subgroup or (),
            n_resamples=bootstrap,
            seed=seed,
            level=ci_level,
            progress=progress,
        )
    for line in ui.matching_lines(result.metrics["matching"]):
        console.print(line)
    console.print(ui.classification_table(result.metrics, title=title))
    comp = ui.comparison_table(result.metrics)
    if comp is not None:
        console.print(comp)
    page = classification_page(result.metrics, result.data, title=title) if out else None
    _write(console, out, result.metrics, page)


@app.command("classification")
def classification_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold CSV: id column + one column per finding."),
    pred: Path = typer.Option(..., "--pred", help="Predictions CSV: probabilities or 0/1."),
    pred_b: Path | None = typer.Option(None, "--pred-b", help="A second model: DeLong's test."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = typer.Option(None, "--finding", help="Score only these findings."),
    thresholds: str | None = typer.Option(
        None, "--thresholds", help="A number, or a JSON file {finding: threshold} / model card."
    ),
    at_sensitivity: list[float] | None = typer.Option(
        None, "--at-sensitivity", help="Also report metrics where sensitivity reaches this."
    ),
    at_specificity: list[float] | None = typer.Option(
        None, "--at-specificity", help="Also report metrics where specificity reaches this."
    ),
    uncertain: UncertainPolicy = _UNC,
    blank: BlankPolicy = typer.Option(
        BlankPolicy.ZEROS, "--blank", help="Blank gold labels are negative or left out."
    ),
    subgroup: list[str] | None = typer.Option(
        None, "--subgroup", help="A gold column (sex, age band, view, site…) to split by."
    ),
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
) -> None:
    """Per-finding AUROC, AUPRC, sensitivity, specificity, PPV, NPV, F1 and calibration."""
    _classification(**locals(), title="Classification")


@app.command("compare")
def compare_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold CSV."),
    pred: Path = typer.Option(..., "--pred", help="Model A predictions."),
    pred_b: Path = typer.Option(..., "--pred-b", help="Model B predictions, same cases."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = typer.Option(None, "--finding", help="Score only these findings."),
    uncertain: UncertainPolicy = _UNC,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
) -> None:
    """Two models on the same cases: DeLong's test and a paired bootstrap of AUROC A − B."""
    _classification(
        **locals(),
        thresholds=None,
        at_sensitivity=None,
        at_specificity=None,
        blank=BlankPolicy.ZEROS,
        subgroup=None,
        title="Model comparison",
    )


@app.command("labeler")
def labeler_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold labels, CheXpert labeler CSV format."),
    pred: Path = typer.Option(..., "--pred", help="The labeler's output, same format."),
    out: Path | None = _OUT,
    id_column: str | None = typer.Option(
        None, "--id-column", help="Match rows by this column (default: by row order)."
    ),
    finding: list[str] | None = typer.Option(None, "--finding", help="Score only these findings."),
    uncertain: LabelerUncertain = typer.Option(
        LabelerUncertain.KEEP,
        "--uncertain",
        help="-1 is its own class, or counts as present/absent.",
    ),
    min_support: int = typer.Option(5, "--min-support", help="Macro averages skip rarer findings."),
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
) -> None:
    """Per-finding precision, recall and F1 of present / absent / uncertain labels."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.labeler import evaluate_labeler
    from radpilot.evaluate.pages import labeler_page

    console = Console()
    with ui.bootstrap_progress(console) as progress:
        result = evaluate_labeler(
            gold,
            pred,
            id_column=id_column,
            findings=finding or None,
            uncertain=uncertain,
            min_support=min_support,
            n_resamples=bootstrap,
            seed=seed,
            level=ci_level,
            progress=progress,
        )
    for line in ui.matching_lines(result.metrics["matching"]):
        console.print(line)
    console.print(ui.labeler_table(result.metrics))
    _write(console, out, result.metrics, labeler_page(result.metrics) if out else None)


@app.command("readers")
def readers_cmd(
    gold: Path = typer.Option(..., "--gold", help="Consensus gold CSV."),
    reader: list[Path] = typer.Option(..., "--reader", help="One radiologist's labels (repeat)."),
    pred: Path | None = typer.Option(None, "--pred", help="A model's probabilities, same cases."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = typer.Option(None, "--finding", help="Score only these findings."),
    thresholds: str | None = typer.Option(
        None, "--thresholds", help="The model's threshold: a number or a JSON file."
    ),
    uncertain: UncertainPolicy = _UNC,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
) -> None:
    """Radiologists beside a consensus gold: points on the ROC, kappas, model vs readers."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.pages import readers_page
    from radpilot.evaluate.readers import evaluate_readers

    console = Console()
    thr: float | str | None = thresholds
    if thresholds is not None:
        try:
            thr = float(thresholds)
        except ValueError:
            thr = thresholds
    result = evaluate_readers(
        gold,
        reader,
        pred,
        id_column=id_column,
        findings=finding or None,
        thresholds=thr,
        uncertain=uncertain,
        n_resamples=bootstrap,
        seed=seed,
        level=ci_level,
    )
    console.print(ui.readers_table(result.metrics))
    page = readers_page(result.metrics, result.data, result.points) if out else None
    _write(console, out, result.metrics, page)


@app.command("reports")
def reports_cmd(
    ref: Path = typer.Option(..., "--ref", help="Reference reports: CSV or JSONL with id + text."),
    hyp: Path = typer.Option(..., "--hyp", help="Generated reports, same format."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    text_column: str = typer.Option("text", "--text-column", help="Column holding the text."),
    uncertain_positive: bool = typer.Option(
        False, "--uncertain-positive", help="Clinical F1: count uncertain labels as positive."
    ),
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
) -> None:
    """BLEU-1…4, ROUGE-L, clinical-efficacy F1 and finding-level F1 of report drafts."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.pages import reports_page
    from radpilot.evaluate.text_metrics import evaluate_reports

    console = Console()
    result = evaluate_reports(
        ref,
        hyp,
        id_column=id_column,
        text_column=text_column,
        uncertain_as_positive=uncertain_positive,
        n_resamples=bootstrap,
        seed=seed,
        level=ci_level,
    )
    for line in ui.matching_lines(result.metrics["matching"]):
        console.print(line)
    console.print(ui.reports_table(result.metrics))
    _write(console, out, result.metrics, reports_page(result.metrics) if out else None)


@app.command("dataset")
def dataset_cmd(
    name: str | None = typer.Argument(None, help="Dataset name; leave out to list them."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Gold CSV to write."),
    table: Path | None = typer.Option(
        None, "--table", help="Read this copy of the label table instead of the wheel's."
    ),
) -> None:
    """Turn a label table shipped in the torchxrayvision wheel into a radpilot gold CSV."""
    from rich.table import Table

    from radpilot.evaluate.datasets import describe, write_gold

    console = Console()
    if name is None or output is None:
        listing = Table(title="Datasets (radpilot evaluate dataset NAME -o gold.csv)")
        listing.add_column("name")
        listing.add_column("what")
        for n, text in describe():
            listing.add_row(n, text)
        console.print(listing)
        if name is not None:
            console.print("[yellow]give -o FILE to write the gold CSV[/]")
        return
    summary = write_gold(name, output, path=table)
    console.print(
        f"wrote {output}: {summary['rows']:,} images, findings "
        + ", ".join(f"{f} ({n:,})" for f, n in summary["positives"].items())
        + f"; subgroup columns: {', '.join(summary['subgroups'])}. Licence: {summary['licence']}.",
        highlight=False,
    )

"""`radpilot evaluate`: measure models, labelers and readers against gold labels.

Each subcommand reads its tables, prints one stderr line per warning or note (what was
left out and why; capped by ``--max-errors``), the results table on stdout, and writes
``metrics.json`` and ``report.html`` with ``--out``. Exit codes: 0 every gold case scored;
1 some gold cases had no prediction and ``--allow-missing`` left them out (counted on
stderr and in ``metrics.json``); 2 nothing scored: an unusable file, row, cell or option,
named in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from radpilot.commands.common import (
    DEFAULT_MAX_PROBLEMS,
    MAX_ERRORS_OPTION_HELP,
    ExitCode,
    ProblemLines,
    exit_with,
)
from radpilot.errors import InputError
from radpilot.evaluate.labeler import LabelerUncertain
from radpilot.evaluate.tables import BlankPolicy, UncertainPolicy

app = typer.Typer(
    name="evaluate",
    help="Measure a model, a report labeler or report drafts against gold labels, with CIs.",
    no_args_is_help=True,
)

_BOOT = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the CIs (0: none).")
_SEED = typer.Option(0, "--seed", help="Seed of the bootstrap.")
_LEVEL = typer.Option(0.95, "--ci-level", help="Confidence level of the intervals.")
_OUT = typer.Option(None, "--out", "-o", help="Folder for metrics.json and report.html.")
_ID = typer.Option("id", "--id-column", help="Column that matches rows across files.")
_FINDING = typer.Option(None, "--finding", help="Score only these findings.")
_UNC = typer.Option(
    UncertainPolicy.IGNORE,
    "--uncertain",
    help="Uncertain (-1) gold labels become 1, 0 or are left out.",
)
_MISSING = typer.Option(
    False,
    "--allow-missing",
    help="Leave out gold cases without a prediction (each counted on stderr; exit 1) "
    "instead of refusing to score (exit 2).",
)
_MAX = typer.Option(DEFAULT_MAX_PROBLEMS, "--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP)


@contextmanager
def _cli_hints() -> Iterator[None]:
    """Library errors name parameters; on the command line, name the flag too."""
    from radpilot.evaluate.matching import MissingValuesError

    try:
        yield
    except MissingValuesError as exc:
        raise InputError(f"{exc} (--allow-missing)") from None


def _threshold(value: str | None) -> float | str | None:
    """``--thresholds``: a number, else a JSON file's path."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _finish(
    console: Console, metrics: dict[str, Any], tables: list[Any], out: Path | None, page: Any
) -> None:
    """Print the results, write the outputs, and end with the exit code the run earned."""
    from radpilot.evaluate.html import write_outputs

    for table in tables:
        if table is not None:
            console.print(table)
    if out is not None:
        written = write_outputs(out, metrics, page)
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    exit_with(ExitCode.PARTLY_DONE if metrics["missing"]["n_values"] else ExitCode.DONE)


def _problems(metrics: dict[str, Any], max_errors: int) -> None:
    with ProblemLines(max_errors) as lines:
        for text in metrics.get("warnings", ()):
            lines(f"warning: {text}", "warning")
        for text in metrics.get("notes", ()):
            lines(f"note: {text}", "note")


def _run_task(
    compute: Callable[[Any], Any],
    tables: Callable[[Any], list[Any]],
    page: Callable[[Any], Any],
    *,
    out: Path | None,
    max_errors: int,
    progress: bool = True,
) -> None:
    """The shape of every subcommand: check the output folder, compute (with a progress
    bar on a terminal), print problems and results, write, exit with the earned code."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.html import check_output_folder

    if out is not None:
        check_output_folder(out)
    console = Console()
    bar = ui.bootstrap_progress(console) if progress else nullcontext(None)
    with bar as advance, _cli_hints():
        result = compute(advance)
    _problems(result.metrics, max_errors)
    _finish(console, result.metrics, tables(result), out, page(result) if out else None)


def _classification(
    *, out: Path | None, title: str, max_errors: int, thresholds: str | None, **kwargs: Any
) -> None:
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.classification import evaluate
    from radpilot.evaluate.pages import classification_page

    _run_task(
        lambda bar: evaluate(thresholds=_threshold(thresholds), progress=bar, **kwargs),
        lambda r: [
            ui.classification_table(r.metrics, title=title),
            ui.comparison_table(r.metrics),
        ],
        lambda r: classification_page(r.metrics, r.data, title=title),
        out=out,
        max_errors=max_errors,
    )


@app.command("classification")
def classification_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold CSV: id column + one column per finding."),
    pred: Path = typer.Option(..., "--pred", help="Predictions CSV: probabilities in [0, 1]."),
    pred_b: Path | None = typer.Option(None, "--pred-b", help="A second model: DeLong's test."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = _FINDING,
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
    allow_missing: bool = _MISSING,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
    max_errors: int = _MAX,
) -> None:
    """Per-finding AUROC, AUPRC, sensitivity, specificity, PPV, NPV, F1 and calibration.

    A blank, NaN or absent prediction for a usable gold case refuses the run unless
    --allow-missing; a prediction outside [0, 1] always does.
    """
    _classification(
        gold=gold,
        pred=pred,
        pred_b=pred_b,
        out=out,
        id_column=id_column,
        findings=finding or None,
        thresholds=thresholds,
        at_sensitivity=at_sensitivity or (),
        at_specificity=at_specificity or (),
        uncertain=uncertain,
        blank=blank,
        subgroups=subgroup or (),
        allow_missing=allow_missing,
        n_resamples=bootstrap,
        seed=seed,
        level=ci_level,
        title="Classification",
        max_errors=max_errors,
    )


@app.command("compare")
def compare_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold CSV."),
    pred: Path = typer.Option(..., "--pred", help="Model A predictions."),
    pred_b: Path = typer.Option(..., "--pred-b", help="Model B predictions, same cases."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = _FINDING,
    uncertain: UncertainPolicy = _UNC,
    allow_missing: bool = _MISSING,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
    max_errors: int = _MAX,
) -> None:
    """Two models on the same cases: DeLong's test and a paired bootstrap of AUROC A − B."""
    _classification(
        gold=gold,
        pred=pred,
        pred_b=pred_b,
        out=out,
        id_column=id_column,
        findings=finding or None,
        thresholds=None,
        uncertain=uncertain,
        allow_missing=allow_missing,
        n_resamples=bootstrap,
        seed=seed,
        level=ci_level,
        title="Model comparison",
        max_errors=max_errors,
    )


@app.command("labeler")
def labeler_cmd(
    gold: Path = typer.Option(..., "--gold", help="Gold labels, CheXpert labeler CSV format."),
    pred: Path = typer.Option(..., "--pred", help="The labeler's output, same format."),
    out: Path | None = _OUT,
    id_column: str | None = typer.Option(
        None, "--id-column", help="Match rows by this column (default: by row order)."
    ),
    finding: list[str] | None = _FINDING,
    uncertain: LabelerUncertain = typer.Option(
        LabelerUncertain.KEEP,
        "--uncertain",
        help="-1 is its own class, or counts as present/absent.",
    ),
    min_support: int = typer.Option(5, "--min-support", help="Macro averages skip rarer findings."),
    allow_missing: bool = _MISSING,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
    max_errors: int = _MAX,
) -> None:
    """Per-finding precision, recall and F1 of present / absent / uncertain labels."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.labeler import evaluate_labeler
    from radpilot.evaluate.pages import labeler_page

    _run_task(
        lambda bar: evaluate_labeler(
            gold,
            pred,
            id_column=id_column,
            findings=finding or None,
            uncertain=uncertain,
            min_support=min_support,
            allow_missing=allow_missing,
            n_resamples=bootstrap,
            seed=seed,
            level=ci_level,
            progress=bar,
        ),
        lambda r: [ui.labeler_table(r.metrics)],
        lambda r: labeler_page(r.metrics),
        out=out,
        max_errors=max_errors,
    )


@app.command("readers")
def readers_cmd(
    gold: Path = typer.Option(..., "--gold", help="Consensus gold CSV."),
    reader: list[Path] = typer.Option(..., "--reader", help="One radiologist's labels (repeat)."),
    pred: Path | None = typer.Option(None, "--pred", help="A model's probabilities, same cases."),
    out: Path | None = _OUT,
    id_column: str = _ID,
    finding: list[str] | None = _FINDING,
    thresholds: str | None = typer.Option(
        None, "--thresholds", help="The model's threshold: a number or a JSON file."
    ),
    uncertain: UncertainPolicy = _UNC,
    allow_missing: bool = _MISSING,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
    max_errors: int = _MAX,
) -> None:
    """Radiologists beside a consensus gold: points on the ROC, kappas, model vs readers."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.pages import readers_page
    from radpilot.evaluate.readers import evaluate_readers

    _run_task(
        lambda _: evaluate_readers(
            gold,
            reader,
            pred,
            id_column=id_column,
            findings=finding or None,
            thresholds=_threshold(thresholds),
            uncertain=uncertain,
            allow_missing=allow_missing,
            n_resamples=bootstrap,
            seed=seed,
            level=ci_level,
        ),
        lambda r: [ui.readers_table(r.metrics)],
        lambda r: readers_page(r.metrics, r.data, r.points),
        out=out,
        max_errors=max_errors,
        progress=False,
    )


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
    allow_missing: bool = _MISSING,
    bootstrap: int = _BOOT,
    seed: int = _SEED,
    ci_level: float = _LEVEL,
    max_errors: int = _MAX,
) -> None:
    """BLEU-1…4, ROUGE-L, clinical-efficacy F1 and finding-level F1 of report drafts."""
    from radpilot.evaluate import console as ui
    from radpilot.evaluate.pages import reports_page
    from radpilot.evaluate.text_metrics import evaluate_reports

    _run_task(
        lambda _: evaluate_reports(
            ref,
            hyp,
            id_column=id_column,
            text_column=text_column,
            uncertain_as_positive=uncertain_positive,
            allow_missing=allow_missing,
            n_resamples=bootstrap,
            seed=seed,
            level=ci_level,
        ),
        lambda r: [ui.reports_table(r.metrics)],
        lambda r: reports_page(r.metrics),
        out=out,
        max_errors=max_errors,
        progress=False,
    )


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

    from radpilot.evaluate.datasets import dataset_spec, describe, write_gold

    console = Console()
    if name is None:
        listing = Table(title="Datasets (radpilot evaluate dataset NAME -o gold.csv)")
        listing.add_column("name")
        listing.add_column("what")
        for n, text in describe():
            listing.add_row(n, text)
        console.print(listing)
        return
    dataset_spec(name)  # an unknown name lists the valid ones
    if output is None:
        raise InputError(f"give -o FILE to write the '{name}' gold CSV")
    summary = write_gold(name, output, path=table)
    console.print(
        f"wrote {output}: {summary['rows']:,} images, findings "
        + ", ".join(f"{f} ({n:,})" for f, n in summary["positives"].items())
        + f"; subgroup columns: {', '.join(summary['subgroups'])}. Licence: {summary['licence']}.",
        highlight=False,
    )

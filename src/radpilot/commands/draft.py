"""`radpilot draft`: a verified report draft from findings, an image analysis and a prior."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console

from radpilot.commands.archive import DB_HELP, VOCAB_HELP, load_vocab
from radpilot.commands.common import ExitCode, exit_with
from radpilot.commands.llmopts import LLM, LLM_CONFIG, LLM_MODEL, LLM_URL, llm_config
from radpilot.errors import InputError

app = typer.Typer()


def _prior(
    prior: Path | None, prior_id: str | None, db: Path | None
) -> tuple[str | None, str | None]:
    """The prior report's text and how COMPARISON names it."""
    if prior is not None and prior_id is not None:
        raise InputError("give --prior FILE or --prior-id ID, not both")
    if prior is not None:
        from radpilot.workflow.inputs import read_report_file

        return read_report_file(prior), None
    if prior_id is None:
        return None, None
    from radpilot.search.store import open_store

    store = open_store(db, readonly=True, create=False)
    try:
        stored = store.get(prior_id)
    finally:
        store.close()
    if stored is None:
        raise InputError("--prior-id: no report with that id in the archive")
    label = f"Prior report of {stored.study_date}" if stored.study_date else None
    return stored.text, label


@app.command()
def draft(
    findings: str = typer.Option(
        None,
        "--findings",
        "-f",
        help="Findings as a radiologist types them, separated by ';', e.g. "
        "'small left pleural effusion; cardiomegaly; no pneumothorax'.",
    ),
    analysis: Path = typer.Option(
        None, "--analysis", help="Image findings: the JSON of `radpilot analyze --json`."
    ),
    prior: Path = typer.Option(None, "--prior", help="The prior report, a text file."),
    prior_id: str = typer.Option(None, "--prior-id", help="The prior report's id in --db."),
    db: Path = typer.Option(None, "--db", help=DB_HELP),
    exam: str = typer.Option(None, "--exam", help="Examination, e.g. 'CHEST 2 VIEWS'."),
    negatives: bool = typer.Option(
        True,
        "--negatives/--no-negatives",
        help="State the template's pertinent negatives for regions nothing was said about.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"report", "verified", "differences", "backend"}.'
    ),
    vocab: Path = typer.Option(None, "--vocab", help=VOCAB_HELP),
    llm: str = LLM,
    llm_url: str = LLM_URL,
    llm_model: str = LLM_MODEL,
    llm_config_file: Path = LLM_CONFIG,
    image: Path = typer.Option(
        None, "--image", help="PNG/JPEG sent to a vision-language model with the draft."
    ),
) -> None:
    """Draft a report (EXAMINATION, COMPARISON, FINDINGS by region, IMPRESSION by clinical
    importance) from a template, then read it back: every finding, certainty, laterality
    and change must come back as given, else each difference is listed and the draft is
    not verified. With a prior, statements say what changed. With --llm a language model
    polishes the wording; its draft is used only if it reads back the same.

    Exit status: 0 drafted and verified; 3 drafted, but the read-back differs; 2 nothing
    drafted (no findings, an unreadable file).
    """
    from radpilot.workflow.draft import draft_report, polish
    from radpilot.workflow.inputs import split_phrases

    vocabulary = load_vocab(vocab)
    prior_text, prior_label = _prior(prior, prior_id, db)
    config = llm_config(llm, llm_url, llm_model, llm_config_file)
    result = draft_report(
        split_phrases(findings) if findings else [],
        analysis=analysis,
        prior=prior_text,
        prior_label=prior_label,
        exam=exam,
        pertinent_negatives=negatives,
        vocabulary=vocabulary,
    )
    if config is not None:
        result = polish(result, config, image=image, vocabulary=vocabulary)  # type: ignore[arg-type]
    elif image is not None:
        result = replace(
            result,
            notes=(*result.notes, "image not sent: no language model was asked (--llm, --llm-url)"),
        )
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(result.report, nl=False)
    sys.stdout.flush()  # the report before the verdict, also when both go to one pipe
    if not as_json:
        verdict = "verified" if result.verified else "NOT verified"
        err.print(f"{verdict}: read back by the report reader ({result.backend})", markup=False)
        for d in result.differences:
            err.print(f"difference: {d.describe()}", markup=False)
    if result.rejected is not None:
        err.print(
            f"language model not used ({result.rejected.backend}): {result.rejected.reason}",
            markup=False,
        )
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    exit_with(ExitCode.DONE if result.verified else ExitCode.CHECK_FAILED)

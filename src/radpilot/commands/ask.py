"""`radpilot ask`: a question over the archive (or a patient's history), answered with
checked citations of report ids."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from radpilot.commands.archive import DB_HELP
from radpilot.commands.common import ExitCode, exit_with
from radpilot.commands.llmopts import LLM, LLM_CONFIG, LLM_MODEL, LLM_URL, llm_config

app = typer.Typer()


@app.command()
def ask(
    question: str = typer.Argument(
        None, help="The question; leave out (with --patient) for a summary of the history."
    ),
    db: Path = typer.Option(None, "--db", help=DB_HELP),
    patient: str = typer.Option(None, "--patient", help="Only this patient's reports."),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, help="Reports retrieved."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
    llm: str = LLM,
    llm_url: str = LLM_URL,
    llm_model: str = LLM_MODEL,
    llm_config_file: Path = LLM_CONFIG,
) -> None:
    """Answer QUESTION from the archive's reports, citing report ids. With --llm a
    language model writes the answer; every sentence is checked (each cited id must be a
    retrieved report, each finding it states must be in a report it cites) and a sentence
    that fails is dropped and listed. Without --llm the answer is the retrieved reports'
    own finding sentences, each cited.

    Exit status: 0 answered, every sentence checked; 3 answered, but sentences were
    dropped; 2 nothing answered (no archive, no matching reports, model unreachable).
    """
    from radpilot.search.store import open_store
    from radpilot.workflow.archive_qa import answer
    from radpilot.workflow.llm import LLMConfig, open_model

    config = llm_config(llm, llm_url, llm_model, llm_config_file)
    model = open_model(config) if isinstance(config, LLMConfig) else None
    store = open_store(db, readonly=True, create=False)
    try:
        result = answer(store, question, patient=patient, model=model, limit=limit)
    finally:
        store.close()
        if model is not None:
            model.close()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if result.error is not None:
        err.print(f"error: {result.error}", markup=False)
        exit_with(ExitCode.NOTHING_DONE)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for s in result.answer.kept:
            typer.echo(s.text)
    sys.stdout.flush()  # the answer before the dropped lines, also on one pipe
    if not as_json:
        for f in result.answer.flagged:
            err.print(f"dropped: sentence {f.position}: {f.why}", markup=False)
    if not result.reports:
        err.print("error: no report in the archive matches", markup=False)
        exit_with(ExitCode.NOTHING_DONE)
    exit_with(ExitCode.CHECK_FAILED if result.answer.flagged else ExitCode.DONE)

"""`radpilot draft` and `radpilot ask` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

CliRun = Callable[..., tuple[int, str, str]]
ISSUE = "small left pleural effusion; cardiomegaly; no pneumothorax"


def test_draft_json_has_exactly_the_documented_keys(cli: CliRun) -> None:
    code, out, err = cli("draft", "--findings", ISSUE, "--exam", "CHEST 2 VIEWS", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"report", "verified", "differences", "backend"}
    assert data["verified"] is True and data["differences"] == []
    assert data["backend"] == "template.v1"
    assert data["report"].startswith("EXAMINATION: CHEST 2 VIEWS\n")


def test_draft_text_and_verdict_on_stderr(cli: CliRun) -> None:
    code, out, err = cli("draft", "-f", ISSUE)
    assert code == 0
    assert "IMPRESSION:\n1. Small left pleural effusion.\n2. Cardiomegaly.\n" in out
    assert "verified: read back by the report reader (template.v1)" in err


def test_draft_with_prior_file_and_archive_id(
    cli: CliRun, tmp_path: Path, history_db: Path
) -> None:
    prior = tmp_path / "prior.txt"
    prior.write_text("FINDINGS: Right chest tube. Cardiomegaly.\n", encoding="utf-8")
    code, out, _ = cli(
        "draft",
        "-f",
        "cardiomegaly; no chest tube; small left pleural effusion",
        "--prior",
        str(prior),
    )
    assert code == 0
    assert "Interval removal of the right chest tube." in out and "Unchanged cardiomegaly." in out
    assert "New small left pleural effusion." in out
    code, out, err = cli(
        "draft",
        "-f",
        "small left pleural effusion; cardiomegaly",
        "--prior-id",
        "H2",
        "--db",
        str(history_db),
    )
    assert code == 0, err
    assert "COMPARISON: Prior report of 2024-01-08." in out
    assert "Unchanged small left pleural effusion." in out
    assert "note: prior finding not addressed in the current findings: chest_tube" in err


def test_draft_user_errors_are_one_line(cli: CliRun, tmp_path: Path, history_db: Path) -> None:
    for argv, message in [
        (("draft",), "nothing to draft from"),
        (("draft", "-f", "hello there"), "phrase 1 of 1 names no finding"),
        (
            ("draft", "-f", "cardiomegaly", "--prior", str(tmp_path / "missing.txt")),
            "missing.txt: no such file",
        ),
        (
            ("draft", "-f", "cardiomegaly", "--prior-id", "NOPE", "--db", str(history_db)),
            "no report with that id",
        ),
        (("draft", "-f", "cardiomegaly", "--exam", "CT HEAD"), "no report template covers"),
        (
            ("draft", "-f", "cardiomegaly", "--llm", "gpt-9"),
            "no language-model backend named 'gpt-9'",
        ),
    ]:
        code, _, err = cli(*argv)
        assert code == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_draft_with_lying_llm_keeps_template_and_says_why(cli: CliRun, fake_llm: str) -> None:
    code, out, err = cli(
        "draft", "-f", ISSUE, "--llm-url", fake_llm, "--llm-model", "adds", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["backend"] == "template.v1" and data["verified"]
    assert data["rejected"]["differences"][0]["finding"] == "pneumonia"
    assert "language model not used (openai-compatible.v1)" in err
    code, out, _ = cli(
        "draft", "-f", ISSUE, "--llm-url", fake_llm, "--llm-model", "honest", "--json"
    )
    assert json.loads(out)["backend"] == "openai-compatible.v1"


def test_ask_extractive_and_with_model(cli: CliRun, history_db: Path, fake_llm: str) -> None:
    code, out, err = cli("ask", "pleural effusion", "--db", str(history_db), "--patient", "P1")
    assert code == 0, err
    assert "[H3]" in out and "[H4]" not in out
    code, out, err = cli(
        "ask",
        "--db",
        str(history_db),
        "--patient",
        "P1",
        "--llm-url",
        fake_llm,
        "--llm-model",
        "cites",
        "--json",
    )
    assert code == 3  # a sentence was dropped
    data = json.loads(out)
    assert data["backend"] == "openai-compatible.v1" and not data["verified"]
    assert [s["citations"] for s in data["sentences"]] == [["H2"]]
    assert [(d["reason"], d["ids"]) for d in data["dropped"]] == [
        ("cites a report id that was not given: R999", ["R999"]),
        ("cardiomegaly is not stated in H1", ["H1"]),
    ]
    code, _, err = cli("ask", "pneumothorax", "--db", str(history_db), "--patient", "P9")
    assert code == 2 and "no report in the archive matches" in err


def test_ask_question_with_model_checks_every_sentence(
    cli: CliRun, history_db: Path, fake_llm: str
) -> None:
    code, out, err = cli(
        "ask",
        "pleural effusion",
        "--db",
        str(history_db),
        "--llm-url",
        fake_llm,
        "--llm-model",
        "cites",
    )
    assert code == 3
    # Search ranks H3 first: both its claims are in H3; the made-up id is dropped.
    assert out.splitlines() == [
        "A small left pleural effusion was seen [H3].",
        "Cardiomegaly was present [H3].",
    ]
    assert "dropped: sentence 2: cites a report id that was not given" in err
    assert "R999" not in err  # ids stay in the output, never in the problem lines
    code, out, err = cli("ask", "--db", str(history_db), "--patient", "P1")
    assert code == 0 and out.index("[H1]") < out.index("[H3]")  # the history, oldest first


def test_ask_with_unreachable_model_is_one_line(cli: CliRun, history_db: Path) -> None:
    code, out, err = cli(
        "ask", "effusion", "--db", str(history_db), "--llm-url", "http://127.0.0.1:9"
    )
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0] and lines[0].startswith("error: ")

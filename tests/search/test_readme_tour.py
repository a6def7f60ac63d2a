"""The README's "Find cases" transcript is what the commands print: each `$ radpilot ...`
line is run in a copy of tests/search/data/tour/ (100 columns), and its stderr then stdout
must equal the lines below it, after times are normalised."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from radpilot.commands.main import run

ROOT = Path(__file__).resolve().parents[2]
TOUR = Path(__file__).parent / "data" / "tour"
_SECONDS = re.compile(r"in \d+\.\d s\)")


def _transcript() -> list[tuple[str, list[str]]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Find cases:", 1)[1].split("\n### ", 1)[0]
    block = section.split("```\n", 2)[1]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ radpilot "):
            steps.append((line.removeprefix("$ radpilot "), []))
        else:
            steps[-1][1].append(line)
    return steps


def _normal(lines: list[str]) -> list[str]:
    return [_SECONDS.sub("in N s)", line.rstrip()) for line in lines if line.strip()]


def test_find_cases_transcript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for f in TOUR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    steps = _transcript()
    assert len(steps) >= 8
    for command, expected in steps:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run(shlex.split(command))
        got = _normal(err.getvalue().splitlines() + out.getvalue().splitlines())
        assert got == _normal(expected), command

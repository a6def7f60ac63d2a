"""The README cannot drift: every ``$ radpilot ...`` transcript of its CLI tour runs here,
in a folder holding the bundled samples, and every line shown under a command must appear
in what the command prints now, in order (the README may leave lines out, "trimmed to
fit"; ``…`` in a line stands for any text). Times and rates are normalised. Its Python
examples run as doctests.

Run a section's commands by hand the same way: copy the samples there
(``radpilot.samples.names()``), or for "Find cases" the files of ``tests/search/data/tour/``
and the sample ``my_findings.yaml``.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radpilot import samples

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TOUR = ROOT / "tests" / "search" / "data" / "tour"
BIN = Path(sys.executable).parent
MARK = "@@radpilot-readme-step-"

_TIMES = [
    (re.compile(r"\b\d+(\.\d+)? s\b"), "N s"),
    (re.compile(r"\b[\d,]+ reports/s\b"), "N reports/s"),
]


def _sections() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    parts = re.split(r"^### ", text, flags=re.M)
    return {p.split("\n", 1)[0]: p for p in parts[1:]}


def _blocks(section: str) -> list[list[tuple[str, list[str]]]]:
    """Each fenced block of ``$ `` commands, as (command, expected lines) steps."""
    out = []
    for block in re.findall(r"^```\n(.*?)^```", section, flags=re.M | re.S):
        steps: list[tuple[str, list[str]]] = []
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\"):  # a command continued on the next line
                    i += 1
                    command = command[:-1] + " " + lines[i].strip()
                steps.append((command, []))
            elif steps:
                steps[-1][1].append(line)
            i += 1
        if steps:
            out.append(steps)
    return out


def _stage_samples(folder: Path) -> None:
    from radpilot.reports.openi import default_tgz

    for name in samples.names():
        shutil.copy(samples.get(name), folder / Path(name).name)
    (folder / "NLMCXR_reports.tgz").symlink_to(default_tgz())
    # The images the quality gate must stop: a real film turned upside down, a blank one.
    film = Image.open(samples.get("nih_normal.png"))
    film.rotate(180).save(folder / "upside_down.png")
    Image.fromarray(np.full((512, 512), 128, np.uint8)).save(folder / "blank.png")
    # What a failed download leaves behind: a web page, not weights.
    (folder / "login.html").write_text("<!doctype html><title>Sign in</title>\n")


def _stage_tour(folder: Path) -> None:
    for f in TOUR.iterdir():
        shutil.copy(f, folder / f.name)
    # The user vocabulary of "Read reports" serves the archive too (`--vocab`).
    shutil.copy(samples.get("my_findings.yaml"), folder / "my_findings.yaml")


STAGING: dict[str, Callable[[Path], None]] = {"Find cases": _stage_tour}
SECTIONS = {
    title: section
    for title, section in _sections().items()
    if title.startswith(
        ("Read", "Find", "Prove", "Draft", "Build", "Serve", "Scale", "Follow", "Check")
    )
    and _blocks(section)
}


def _normal(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in _TIMES:
        line = pattern.sub(repl, line)
    return line


def _matches(expected: str, got: str) -> bool:
    parts = [re.escape(p) for p in expected.split("…")]
    return re.fullmatch(".*".join(parts), got) is not None


def _check(command: str, expected: list[str], output: str) -> None:
    got = [_normal(x) for x in output.splitlines() if x.strip()]
    want = [_normal(x) for x in expected if x.strip()]
    at = 0
    for line in want:
        while at < len(got) and not _matches(line, got[at]):
            at += 1
        assert at < len(got), (
            f"`$ {command}`: README line not printed (in order):\n{line}\n\ngot:\n"
            + ("\n".join(got))
        )
        at += 1


@pytest.mark.parametrize("title", sorted(SECTIONS))
def test_readme_transcripts(title: str, tmp_path: Path) -> None:
    STAGING.get(title.split(":")[0], _stage_samples)(tmp_path)
    env = {**os.environ, "COLUMNS": "100", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("FORCE_COLOR", None)
    for steps in _blocks(SECTIONS[title]):
        # One shell per block, so `echo $?` sees the command before it.
        script = "__rc=0\n" + "".join(
            f"echo {MARK}{i}; (exit $__rc)\n{cmd} 2>&1\n__rc=$?\n"
            for i, (cmd, _) in enumerate(steps)
        )
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        outputs = re.split(rf"^{MARK}\d+\n", proc.stdout, flags=re.M)[1:]
        assert len(outputs) == len(steps), proc.stderr
        for (command, expected), output in zip(steps, outputs, strict=True):
            _check(command, expected, output)


def test_every_tour_section_is_checked() -> None:
    assert {"Read reports", "Find cases", "Read images", "Prove it"} <= {
        t.split(":")[0] for t in SECTIONS
    }


def test_readme_python_examples() -> None:
    result = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0

"""The examples in the reader's module docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "radpilot.reports.vocabulary",
        "radpilot.reports.sections",
        "radpilot.reports.reader",
        "radpilot.reports.labels",
        "radpilot.reports.labelsets",
        "radpilot.reports.policy",
        "radpilot.reports.rules",
        "radpilot.reports.morphology",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_the_readme_python_example_of_the_reader_runs_as_written() -> None:
    """The README's "From Python" example under "Read reports" (issue 8.10: it must hold)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Read reports") : readme.index("### Find cases")]
    block = section[section.index("```python\n") + 10 :]
    block = block[: block.index("```")]
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 4 and result.failed == 0


def test_the_readme_label_transcript_matches_the_bundled_sample(tmp_path: Path) -> None:
    """The problem lines of the README's `radpilot label reports.csv` transcript are what
    the command prints for the bundled sample, and its exit status is 1 (partly done)."""
    import contextlib
    import io

    from radpilot import samples
    from radpilot.commands.main import run

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("$ radpilot label reports.csv -o labeled.csv\n")
    shown = readme[start:].split("\n")[1:3]
    src = tmp_path / "reports.csv"
    src.write_bytes(samples.get("reports.csv").read_bytes())
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["label", str(src), "-o", str(tmp_path / "labeled.csv")])
    assert code == 1
    assert err.getvalue().splitlines()[:2] == shown

"""The examples in the reader's module docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

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

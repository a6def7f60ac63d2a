"""Every runnable example in the evaluation modules' docstrings (no whitelist)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import radpilot.evaluate

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(radpilot.evaluate.__path__, "radpilot.evaluate.")
)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_the_examples_are_there() -> None:
    attempted = sum(doctest.testmod(importlib.import_module(m)).attempted for m in MODULES)
    assert attempted >= 2

"""Every docstring example in radpilot runs, in every module (no whitelist)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import radpilot

# Alembic's migration scripts run inside Alembic's context (``alembic.context.config``
# exists only there); they are scripts it loads, not modules to import.
SCRIPTS = ("radpilot.search.pg_migrations.",)
MODULES = [
    *sorted(
        m.name
        for m in pkgutil.walk_packages(radpilot.__path__, prefix="radpilot.")
        if not m.ispkg and not m.name.startswith(SCRIPTS)
    ),
    "radpilot",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_examples_are_there() -> None:
    """A docstring example that stops being collected (a typo in `>>>`) would pass above."""
    attempted = sum(doctest.testmod(importlib.import_module(m)).attempted for m in MODULES)
    assert attempted >= 20

"""The shape rules of the codebase, checked so that they cannot drift: no module over 600
lines, no function over 100 lines (import direction and cycles are import-linter's, in
`make test`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import radpilot

SRC = Path(radpilot.__file__).parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100
MODULES = sorted(SRC.rglob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines (split it)"
    long = [
        f"{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for f in _functions(ast.parse(text))
        if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def test_no_empty_placeholder_packages() -> None:
    """A subpackage exists once it holds code (issue 9: no empty placeholders)."""
    for init in SRC.glob("*/__init__.py"):
        package = init.parent
        code = [p for p in package.rglob("*.py") if p.name != "__init__.py"]
        assert code or init.read_text().strip().count("\n") > 3, f"{package.name} is empty"

"""The compiled reader (radpilot.reports.native): used only when current, reads as the
sources do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from radpilot.reports import native, read
from radpilot.reports.labels import chexpert
from radpilot.reports.openi import iter_reports

SRC = Path(native.__file__).resolve().parents[2]


def _current_record() -> dict[str, object]:
    return {"built": True, "sources": {n: native.digest(n) for n in native.COMPILED}}


def test_a_current_build_of_every_module_is_used() -> None:
    assert native.stale(list(native.COMPILED), _current_record()) is None


def test_a_changed_source_is_never_shadowed_by_its_old_build() -> None:
    record = _current_record()
    sources = dict(record["sources"])  # type: ignore[call-overload]
    sources["context"] = "0" * 64  # as if context.py had been edited after the build
    why = native.stale(list(native.COMPILED), {**record, "sources": sources})
    assert why == "context.py changed since it was built"


@pytest.mark.parametrize(
    "record, expected",
    [
        ({}, "its record native.json is missing or unreadable"),
        ({"built": False, "why": "no compiler"}, "its record native.json is missing or unreadable"),
        ({"built": True, "sources": "not a table"}, "changed since it was built"),
    ],
)
def test_a_build_without_a_good_record_is_not_used(
    record: dict[str, object], expected: str
) -> None:
    why = native.stale(list(native.COMPILED), record)
    assert why is not None and why.endswith(expected)


def test_a_partial_build_is_not_used() -> None:
    # a compiled module beside a source one would define two classes named Mention
    why = native.stale([n for n in native.COMPILED if n != "models"], _current_record())
    assert why == "models.py not compiled"


def _python(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


_FILES = (
    "import importlib, radpilot.reports.native as n\n"
    "print(n.mode())\n"
    "for m in n.COMPILED: print(importlib.import_module('radpilot.reports.' + m).__file__)\n"
)


def test_radpilot_pure_reads_every_module_from_its_source() -> None:
    mode, *files = _python(_FILES, RADPILOT_PURE="1").split()
    assert mode == "source"
    assert len(files) == len(native.COMPILED) and all(f.endswith(".py") for f in files)


_DUMP = (
    "import json, sys\n"
    "from radpilot.reports import read\n"
    "from radpilot.reports.labels import chexpert\n"
    "for t in json.load(sys.stdin):\n"
    "    r = read(t)\n"
    "    print(json.dumps([r.to_dict(), chexpert(r)], sort_keys=True))\n"
)


def test_the_compiled_reader_reads_as_its_sources() -> None:
    if native.mode() != "compiled":
        pytest.skip("the compiled reader is not built here (make native)")
    texts = [r.text for r in iter_reports() if r.text.strip()][:400]
    texts += ["", "No effusion.", "FINDINGS: Ｎo pneumothorax.\x00 IMPRESSION: 2.5 cm nodule?"]
    pure = subprocess.run(
        [sys.executable, "-c", _DUMP],
        input=json.dumps(texts),
        env={**os.environ, "PYTHONPATH": str(SRC), "RADPILOT_PURE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    compiled = [json.dumps([read(t).to_dict(), chexpert(read(t))], sort_keys=True) for t in texts]
    assert compiled == pure

"""The reader's compiled build: its hot modules compiled to C extensions by mypyc.

``python -m radpilot.reports.nativebuild`` (run by ``make``) compiles the modules of
``COMPILED`` from their own sources (they are typed for mypy already, which is all mypyc
needs) into extension modules beside them: 1.13-1.26x the labelling speed of the sources
end to end (BENCHMARKS.md). It needs mypy's mypyc and a C compiler; where either is missing it says so
and the reader runs from its sources, reading exactly the same.

An extension module shadows its source, so a stale one would read with old rules. The
build writes ``native.json`` beside this file, the SHA-256 of each source it compiled;
:func:`choose_build`, called when :mod:`radpilot.reports` is first imported, checks them
and, when any source has changed since (or ``RADPILOT_PURE=1`` asks for it), imports every
compiled module from its source instead, saying why on stderr (once per process).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = "radpilot.reports"
HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "native.json"
# The modules a report's reading runs through (the one-core profile: sections, scan,
# ConText, the memos, labels) and the CSV rows around it. Not compiled: the data-file
# loaders (pydantic models, whose classes mypyc cannot make native) and this module.
COMPILED = (
    "models",
    "morphology",
    "textfold",
    "regexcache",
    "matcher",
    "sections",
    "scope",
    "certainty",
    "places",
    "deviceparts",
    "context",
    "sentencememo",
    "sectionmemo",
    "reader",
    "labels",
    "targets",
    "csvrecords",
    "rows",
    "writers",
)
GROUP = f"{PACKAGE}._compiled"  # the shared library of the compiled modules

_mode = "source"


def mode() -> str:
    """``"compiled"`` when the reader's modules come from the compiled build, else
    ``"source"``."""
    return _mode


def digest(name: str) -> str:
    return hashlib.sha256((HERE / f"{name}.py").read_bytes()).hexdigest()


def built_modules() -> list[str]:
    """The compiled modules whose extension module lies beside their source."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return [n for n in COMPILED if any((HERE / f"{n}{s}").exists() for s in suffixes)]


def read_record() -> dict[str, object]:
    try:
        record = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def changed_sources(record: dict[str, object]) -> list[str]:
    """The compiled modules whose source differs from the one the record was made of."""
    sources = record.get("sources")
    sources = sources if isinstance(sources, dict) else {}
    return [n for n in COMPILED if sources.get(n) != digest(n)]


def stale(built: list[str], record: dict[str, object]) -> str | None:
    """Why a build of ``built`` modules recorded by ``record`` must not be used (None
    when it may). All or none: a compiled module and a source one define two different
    classes of the same name."""
    if len(built) < len(COMPILED):
        missing = sorted(set(COMPILED) - set(built))
        return f"{', '.join(f'{n}.py' for n in missing)} not compiled"
    if record.get("built") is not True:
        return "its record native.json is missing or unreadable"
    changed = changed_sources(record)
    if changed:
        return f"{', '.join(f'{n}.py' for n in changed)} changed since it was built"
    return None


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' sources, ahead of their extension modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != PACKAGE or name not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / f"{name}.py")


def choose_build() -> str:
    """Import the reader's modules from the compiled build when it is current, else from
    their sources (see the module doc); returns :func:`mode`."""
    global _mode
    built = built_modules()
    if not built:
        return _mode
    pure = os.environ.get("RADPILOT_PURE", "").strip().lower() in ("1", "true", "yes")
    why = "RADPILOT_PURE is set" if pure else stale(built, read_record())
    if why is None:
        _mode = "compiled"
        return _mode
    if not any(isinstance(f, _FromSource) for f in sys.meta_path):
        sys.meta_path.insert(0, _FromSource())
    if not pure:
        print(
            f"radpilot: not using the compiled reader ({why}); reading from the sources "
            "(run `make` to rebuild it)",
            file=sys.stderr,
        )
    return _mode

"""Build the compiled reader (see :mod:`radpilot.reports.native`): ``python -m
radpilot.reports.nativebuild [--if-stale] [BUILD_DIR]``, or ``clean`` to remove it. Run
with ``RADPILOT_PURE=1``: importing the package would otherwise check (and report on) the
very build being replaced.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from radpilot.reports.native import (
    COMPILED,
    GROUP,
    HERE,
    MANIFEST,
    PACKAGE,
    changed_sources,
    digest,
    read_record,
)


def build(build_dir: Path) -> None:
    """Compile ``COMPILED`` in place (extension modules beside their sources)."""
    from mypyc.build import mypycify
    from setuptools import setup

    src = HERE.parent.parent
    paths = [str(Path(PACKAGE.replace(".", "/")) / f"{n}.py") for n in COMPILED]
    cwd = Path.cwd()
    os.chdir(src)  # in place: extension modules land by module path from here
    try:
        extensions = mypycify(paths, opt_level="3", group_name=GROUP, target_dir=str(build_dir))
        jobs = str(os.cpu_count() or 1)
        setup(
            name="radpilot-native",
            ext_modules=extensions,
            script_args=[
                "-q",
                "build_ext",
                "--inplace",
                "--build-temp",
                str(build_dir),
                "-j",
                jobs,
            ],
        )
    finally:
        os.chdir(cwd)


def _write_record(sources: dict[str, str], built: bool, why: str = "") -> None:
    record = {"built": built, "why": why, "python": sys.version.split()[0], "sources": sources}
    MANIFEST.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def clean() -> int:
    """Remove the compiled build (extension modules and record); returns files removed."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = (*COMPILED, GROUP.rpartition(".")[2] + "__mypyc")
    gone = [
        p for p in HERE.iterdir() if p.name.endswith(suffixes) and p.name.split(".")[0] in names
    ]
    for p in gone:  # unlinked, not overwritten: a running process keeps its mapped copy
        p.unlink()
    MANIFEST.unlink(missing_ok=True)
    return len(gone)


def compile_reader(build_dir: Path, if_stale: bool = False) -> int:
    """Build (see the module doc); with ``if_stale``, only when the sources changed since
    the last attempt, built or not. Returns 0 when the compiled reader is current."""
    record = read_record()
    if if_stale and record and not changed_sources(record):
        if record.get("built") is True:
            return 0
        print(f"radpilot: the reader runs from its sources ({record.get('why')})")
        return 1
    # Taken before the build: a source edited while it compiles must not be recorded as built.
    sources = {n: digest(n) for n in COMPILED}
    clean()
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        why = "mypyc is not installed: pip install mypy"
    else:
        try:
            build(build_dir.resolve())
        except (SystemExit, Exception) as exc:  # a compiler's error: the sources still read
            clean()
            why = f"the build failed: {type(exc).__name__}: {exc}"
        else:
            _write_record(sources, True)
            print(f"radpilot: compiled {len(COMPILED)} reader modules with mypyc")
            return 0
    _write_record(sources, False, why)
    print(f"radpilot: the reader runs from its sources ({why})")
    return 1


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    if args == ["clean"]:
        print(f"removed {clean()} compiled files")
        return 0
    if_stale = "--if-stale" in args
    rest = [a for a in args if a != "--if-stale"]
    build_dir = Path(rest[0]) if rest else HERE.parent.parent.parent / "build" / "native"
    compile_reader(build_dir, if_stale)
    return 0  # either way the reader reads: a build that cannot be made is no error


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The reader's big phrase pattern, compiled once per machine rather than once per process.

The lexicon's pattern (every finding term, cue and modifier of the vocabulary as one trie,
about 70,000 characters) takes Python's ``re`` about 0.25 s to build and parse, a third of
``radpilot label``'s start-up; every CLI call, every worker and every test process paid it.
What ``re`` makes of a pattern is a list of integers (its opcodes) handed to ``_sre.compile``;
this module keeps that list on disk, keyed by everything it depends on (the phrases, the
pattern's wrapping, the flags, the Python version and ``_sre.MAGIC``), and hands it back to
``_sre.compile``, which validates the opcodes itself.

``_sre.compile`` is an interpreter internal, so every step falls back to ``re.compile``: a
missing, unreadable or malformed cache file, another Python, an unwritable cache directory,
or ``_sre`` refusing the opcodes. A fallback costs only the time; the pattern is the same.

The cache lives in ``$RADPILOT_HOME/regex`` (default ``~/.cache/radpilot/regex``);
``RADPILOT_REGEX_CACHE=off`` turns it off; it keeps the ``MAX_FILES`` most recently used
patterns. A file is one line of JSON (the source, flags and group names) and then the
opcodes as raw unsigned 32-bit integers (``_sre``'s code unit; nothing in either is
executed: reading opcodes as JSON numbers cost a fifth of the reader's start-up). Files are
written to a temporary name and renamed into place, so two processes compiling at once
never see half a file.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_HOME = "RADPILOT_HOME"
ENV_SWITCH = "RADPILOT_REGEX_CACHE"
FORMAT = 2  # bump when the file layout changes
SUFFIX = ".sre"
_CODE = "I"  # array typecode of the opcodes: 32 bits where the cache is used at all
MAX_FILES = 16  # compiled patterns kept; the least recently used go first


def cache_dir() -> Path | None:
    """Where compiled patterns are kept, or None when the cache is off."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() == "off":
        return None
    home = os.environ.get(ENV_HOME)
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "radpilot"
    return base / "regex"


def _internals() -> tuple[Any, Any, Any] | None:
    """``re``'s parser, code generator and ``_sre``, or None where this Python lacks them."""
    try:
        modules = [importlib.import_module(n) for n in ("re._parser", "re._compiler", "_sre")]
    except ImportError:  # pragma: no cover - another interpreter's re
        return None
    return modules[0], modules[1], modules[2]


def _key(identity: str, flags: int, sre: Any) -> str:
    tag = f"{FORMAT}|{sys.implementation.cache_tag}|{sys.version}|{sre.MAGIC}|{flags}|"
    return hashlib.sha256((tag + identity).encode("utf-8")).hexdigest()[:40]


def _load(path: Path, sre: Any) -> re.Pattern[str] | None:
    try:
        head, _, body = path.read_bytes().partition(b"\n")
        source, flags, count, groups, groupindex, indexgroup = json.loads(head)
        if not (isinstance(source, str) and isinstance(count, int) and isinstance(groups, int)):
            return None
        code = array.array(_CODE)
        code.frombytes(body)
        if len(code) != count:
            return None  # cut short or run on
        pattern: re.Pattern[str] = sre.compile(
            source, flags, code.tolist(), groups, groupindex, tuple(indexgroup)
        )
    except (OSError, ValueError, TypeError, RuntimeError):
        return None  # missing, corrupt, or opcodes _sre will not take: compile again
    return pattern


def _save(path: Path, record: list[Any]) -> None:
    source, flags, code, groups, groupindex, indexgroup = record
    head = [source, flags, len(code), groups, groupindex, indexgroup]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(head, separators=(",", ":")).encode("utf-8") + b"\n")
            fh.write(array.array(_CODE, code).tobytes())
        os.replace(tmp, path)
        _prune(path.parent, keep=path)
    except (OSError, OverflowError) as exc:  # a read-only home: the next process compiles again
        log.debug("regex cache not written (%s)", type(exc).__name__)


def _prune(where: Path, keep: Path) -> None:
    """Drop the least recently used files beyond ``MAX_FILES`` (each vocabulary, or each
    radpilot version, writes one file of about 0.8 MB)."""
    files = sorted(where.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        if old != keep:
            old.unlink(missing_ok=True)


def compile_cached(identity: str, source: Callable[[], str], flags: int = 0) -> re.Pattern[str]:
    """``re.compile(source(), flags)``, its compiled form kept on disk under ``identity``
    (a string that determines ``source()`` exactly: the sorted phrases and the wrapping).
    ``source`` is called only when nothing usable is cached."""
    where, parts = cache_dir(), _internals()
    if where is None or parts is None or array.array(_CODE).itemsize != 4:
        return re.compile(source(), flags)
    parser, compiler, sre = parts
    path = where / f"{_key(identity, flags, sre)}{SUFFIX}"
    hit = _load(path, sre)
    if hit is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to be pruned
        return hit
    text = source()
    try:
        parsed = parser.parse(text, flags)
        code = compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        record = [text, flags | parsed.state.flags, code, parsed.state.groups - 1]
        record += [groupindex, indexgroup]
        pattern: re.Pattern[str] = sre.compile(*record[:5], tuple(indexgroup))
    except (AttributeError, TypeError, RuntimeError):  # pragma: no cover - re changed
        return re.compile(text, flags)
    _save(path, record)
    return pattern

"""What the archive robustness tests share: report text and identifiers that carry a
marker (so a leak into a message is found), byte mutations, the accounting check, and
`radpilot archive add` run in-process with its output captured.

Markers are lower-case words starting "zq" and ids containing "zq": nothing radpilot
prints of its own contains them, and the few codes it may echo (an HL7 message type,
a FHIR resource type name) cannot match them.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from hypothesis import strategies as st

from radpilot.commands.main import run
from radpilot.interop.records import Item, RecordError, RecordNote, ReportRecord
from radpilot.search.sources import iter_file

PHRASES = (
    "No pneumothorax",
    "Small left pleural effusion",
    "The heart is enlarged",
    "Lungs are clear",
    "Possible right lower lobe pneumonia",
    "Stable calcified granuloma",
    "Mild pulmonary edema, worse since prior",
)

marker = st.text(alphabet="zqxjkvw", min_size=4, max_size=8).map(lambda s: "zq" + s)
identifier = st.builds(lambda a, n: f"Zq{a}{n}", st.text("abc", max_size=3), st.integers(0, 10**6))
odd_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40
)


@st.composite
def report_text(draw: st.DrawFn) -> str:
    """Real-looking sentences, each with a marker word; sometimes odd characters too."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        parts.append(f"{draw(st.sampled_from(PHRASES))} {draw(marker)}.")
    if draw(st.booleans()):
        parts.append(draw(odd_text))
    return " ".join(parts)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, inserted or deleted, or cut short."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(0, len(buf) - 1)))
        if kind == "flip" and buf:
            buf[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and buf:
            del buf[pos : pos + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


def read_all(path: Path) -> list[Item]:
    """Every item of one file; the reader must never raise."""
    items = list(iter_file(path))
    for it in items:
        assert isinstance(it, ReportRecord | RecordError | RecordNote), it
    return items


def split(items: Sequence[Item]) -> tuple[list[ReportRecord], list[RecordError]]:
    recs = [i for i in items if isinstance(i, ReportRecord)]
    errs = [i for i in items if isinstance(i, RecordError)]
    return recs, errs


def assert_no_leak(lines: Iterable[str], secrets: Iterable[str]) -> None:
    text = "\n".join(lines)
    leaked = sorted({s for s in secrets if s and s in text})
    assert not leaked, f"report text or identifiers printed: {leaked}"


def assert_one_line_each(items: Iterable[Item]) -> None:
    for it in items:
        if not isinstance(it, ReportRecord):
            assert "\n" not in str(it) and it.position, it


def archive_add(*paths: Path) -> tuple[int, str, str]:
    """``radpilot archive add PATHS --jobs 1`` into a fresh archive: (code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        db = Path(tmp) / "a.db"
        code = run(
            [
                "archive",
                "add",
                *map(str, paths),
                "--db",
                str(db),
                "--jobs",
                "1",
                "--max-errors",
                "1000",
            ]
        )
    return code, out.getvalue(), err.getvalue()


def assert_clean_run(paths: Sequence[Path], items: Sequence[Item], secrets: Iterable[str]) -> None:
    """`archive add` of ``paths`` (whose items the library read gave) stores every record
    and skips every error, one stderr line each, exits as the table says, and prints no
    traceback and no report text or identifier."""
    recs, errs = split(items)
    code, out, err = archive_add(*paths)
    expected = 0 if not errs else (1 if recs else 2)
    assert code == expected, (code, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert err.count("skipped: ") == len(errs), err
    assert f"errors {len(errs)}" in out and f"({len(recs)} reports in" in out, out
    assert_no_leak(err.splitlines(), secrets)

"""The search step of `radpilot demo`: an archive of the 3,955 bundled OpenI reports, then
negation-aware searches, a cohort, an integrity check and an export, all as CLI commands.

Writes ``OUT/search/archive.db``, ``cohort_cardiomegaly_no_effusion.csv`` and
``archive.jsonl`` (the export).
"""

from __future__ import annotations

from collections.abc import Iterator

from radpilot.commands.common import ExitCode
from radpilot.commands.demo import Command, Context, Note

SEARCHES = (
    ("pneumothorax", "-n", "5"),
    ("left pleural effusion -cardiomegaly", "-n", "5"),
    ("absent:pneumothorax rib fracture", "-n", "3"),
)
COHORT_QUERY = "cardiomegaly -effusion"


def run(ctx: Context) -> Iterator[Command | Note]:
    from radpilot.reports.openi import default_tgz

    folder = ctx.folder("search")
    db = folder / "archive.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)  # the same archive every run: added, never unchanged
    archive = ("--db", str(db))
    yield Note(
        "OpenI ships 28 reports with no text at all: `archive add` names each XML it skips "
        "(3 lines here, then a count) and exits 1 (partly done); the other 3,927 are stored."
    )
    add = ("archive", "add", str(default_tgz()), "--max-errors", "3", *archive)
    yield Command(add, ok=(ExitCode.PARTLY_DONE,))
    yield Command(("archive", "check", *archive))
    for query, *options in SEARCHES:
        yield Command(("search", query, *options, "--no-semantic", *archive))
    yield Command(("search", "pneumothorax", "-n", "1", "--json", "--no-semantic", *archive))
    cohort = folder / "cohort_cardiomegaly_no_effusion.csv"
    yield Command(("cohort", COHORT_QUERY, "-o", str(cohort), *archive))
    export = folder / "archive.jsonl"
    yield Command(("archive", "export", "-o", str(export), *archive))
    yield Note("Adding the export back changes nothing (every report unchanged):")
    yield Command(("archive", "add", str(export), *archive))

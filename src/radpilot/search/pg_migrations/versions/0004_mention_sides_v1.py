"""Each mention keeps the sides its report wrote (``analysis.written_sides``: "bibasilar"
is the left and the right base too), as SQLite archive schema 2 does: the column, filled
from the stored rows (``schema_sides``) in this migration's transaction, without reading
a report again, so an upgraded archive answers as a re-ingested one.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from radpilot.search.schema_sides import side_updates

revision = "0004_mention_sides_v1"
down_revision = "0003_studies_v1"
branch_labels = None
depends_on = None

_SIDED = (
    "SELECT m.report_rowid, m.finding, m.span_start, m.span_end, m.sentence_start, "
    "m.sentence_end, m.laterality, r.text FROM archive.mentions m JOIN archive.reports r "
    "ON r.rowid = m.report_rowid WHERE m.laterality IS NOT NULL"
)
_BATCH = 5000


def upgrade() -> None:
    op.execute("ALTER TABLE archive.mentions ADD COLUMN sides text NOT NULL DEFAULT ''")
    conn = op.get_bind()
    rows = [tuple(r) for r in conn.execute(text(_SIDED))]
    update = text(
        "UPDATE archive.mentions SET sides = :sides WHERE report_rowid = :rid AND "
        "finding = :fid AND span_start = :a AND span_end = :b"
    )
    batch: list[dict[str, object]] = []
    for sides, rid, fid, a, b in side_updates(rows):  # type: ignore[arg-type]
        batch.append({"sides": sides, "rid": rid, "fid": fid, "a": a, "b": b})
        if len(batch) >= _BATCH:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def downgrade() -> None:
    op.execute("ALTER TABLE archive.mentions DROP COLUMN sides")

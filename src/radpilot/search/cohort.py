"""``radpilot cohort``: the reports a query matches, with ids, metadata and labels, as CSV.

Labels are the CheXpert labeler's 14 observations (1.0 positive, 0.0 negative, -1.0
uncertain, empty: not mentioned) computed by the report reader at ingest.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from radpilot.errors import InputError
from radpilot.search.engine import SearchResult, search
from radpilot.search.store import ArchiveStore

if TYPE_CHECKING:
    from radpilot.reports.vocabulary import Vocabulary

META_COLUMNS = (
    "id",
    "patient_id",
    "study_date",
    "modality",
    "body_part",
    "version",
    "score",
    "uncertain",
    "matched_findings",
)
DEFAULT_MAX = 100_000


def cohort_columns() -> tuple[str, ...]:
    from radpilot.reports.labels import CHEXPERT_LABELS

    return (*META_COLUMNS, *CHEXPERT_LABELS)


def export_cohort(
    store: ArchiveStore,
    query: str,
    out: Path,
    *,
    limit: int = DEFAULT_MAX,
    vocabulary: Vocabulary | None = None,
) -> SearchResult:
    """Write every match (best first, at most ``limit``) to ``out``; return the result.
    ``vocabulary``: the user's merged one the archive was read with (``search``)."""
    result = search(store, query, limit=limit, semantic=False, vocabulary=vocabulary)
    from radpilot.reports.labels import CHEXPERT_LABELS

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = out.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the cohort ({exc.strerror})") from None
    with fh:
        w = csv.writer(fh)
        w.writerow(cohort_columns())
        for hit in result.hits:
            r = hit.report
            matched = sorted({f"{m.finding}:{m.status}" for m in hit.mentions})
            labels = [r.labels.get(name) for name in CHEXPERT_LABELS]
            w.writerow(
                [
                    r.id,
                    r.patient_id or "",
                    r.study_date or "",
                    r.modality or "",
                    r.body_part or "",
                    r.version,
                    f"{hit.score:.4f}",
                    int(hit.uncertain),
                    ";".join(matched),
                    *("" if v is None else f"{v:.1f}" for v in labels),
                ]
            )
    return result

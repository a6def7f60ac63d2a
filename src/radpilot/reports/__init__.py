"""radpilot.reports: read free-text chest radiograph reports into evidence-backed findings.

``read(text) -> Report`` is the entry point; ``labels`` turns a report into CheXpert and
ChestX-ray14 labels; ``vocabulary`` holds the finding vocabulary. Nothing is loaded or
compiled on import: the rules are compiled on the first ``read`` and cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from radpilot.reports.models import Report

__all__ = ["read"]


def read(text: str) -> Report:
    """Read one report: sections, sentences and mentions with certainty and evidence."""
    from radpilot.reports.reader import read as _read

    return _read(text)

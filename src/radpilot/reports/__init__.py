"""radpilot.reports: read free-text chest radiograph reports into evidence-backed findings.

``read(text) -> Report`` is the entry point; ``labels`` turns a report into CheXpert and
ChestX-ray14 labels; ``vocabulary`` holds the finding vocabulary. Nothing is loaded or
compiled on import: the rules are compiled on the first ``read`` and cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radpilot.reports.native import choose_build

if TYPE_CHECKING:
    from collections.abc import Iterable

    from radpilot.reports.models import Report
    from radpilot.reports.targets import TargetAssertion
    from radpilot.reports.vocabulary import Vocabulary

__all__ = ["read", "read_targets"]

choose_build()  # the compiled reader where it is built and current, else the sources


def read(text: str, *, vocabulary: Vocabulary | None = None) -> Report:
    """Read one report: sections, sentences and mentions with certainty and evidence.
    ``vocabulary``: a user's merged vocabulary (``uservocab.extended_vocabulary(FILE)``);
    default the packaged one."""
    from radpilot.reports.reader import read as _read

    return _read(text, vocabulary=vocabulary)


def read_targets(text: str, targets: Iterable[tuple[int, int]]) -> tuple[TargetAssertion, ...]:
    """Certainty, temporality and experiencer of concepts found elsewhere (character spans
    of ``text``), one per target in order (:mod:`radpilot.reports.targets`)."""
    from radpilot.reports.targets import read_targets as _read_targets

    return _read_targets(text, targets)

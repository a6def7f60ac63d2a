"""The enumerations of a reading: a mention's certainty, side, change and hedge.

Apart from :mod:`radpilot.reports.models` (which re-exports them) because that module is
compiled in the native build (:mod:`radpilot.reports.native`), where an enum is a plain
Python class whose docstring mypyc replaces; the data-file schemas carry these docstrings.
"""

from __future__ import annotations

from enum import StrEnum


class Certainty(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    UNCERTAIN = "uncertain"


class Laterality(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class Change(StrEnum):
    """Change since the prior study. RESOLVED means the finding is absent now."""

    NEW = "new"
    WORSE = "worse"
    BETTER = "better"
    STABLE = "stable"
    RESOLVED = "resolved"


class Hedge(StrEnum):
    """The kind of hedge that made a mention uncertain (a label policy may treat them apart).

    PROBABLE: the radiologist leans towards the finding ("likely", "probable", "suspicious
    for", "compatible with", "borderline"). POSSIBLE: a possibility is raised, not endorsed
    ("may represent", "could be", "possible", "concerning for", "cannot exclude",
    "differential includes", "correlate clinically for"). ALTERNATIVE: one side of "X or Y",
    "X versus Y". CONSISTENT: a diagnosis read from what is seen ("consistent with", "in
    keeping with"); no hedge under radpilot's convention (and the CheXpert labeler's): the
    mention stays PRESENT and records the kind, since other corpora (BioScope) count it as
    speculation."""

    PROBABLE = "probable"
    POSSIBLE = "possible"
    ALTERNATIVE = "alternative"
    CONSISTENT = "consistent"

"""One resolver for finding label names across label sets and models.

CheXpert says "Pleural Effusion", ChestX-ray14 "Effusion", torchxrayvision's models
"Effusion", Google's NIH relabels "Airspace opacity". ``canonical_finding`` maps every such
spelling to one canonical name (CheXpert's where one exists), from
``reports/data/label_names.json``; evaluation, image rule files and the DICOM SR codes all
name findings through it, so a new spelling is added in one place.

>>> canonical_finding("effusion")
'Pleural Effusion'
>>> canonical_finding("Pleural_Thickening")
'Pleural Thickening'
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile
from radpilot.errors import VocabularyError


class LabelNamesFile(DataDocument):
    """``label_names.json``: canonical name -> the other spellings of the same finding."""

    labels: dict[str, list[str]] = Field(
        description="Canonical finding name -> other spellings (matching ignores case, "
        "spaces, underscores, hyphens and slashes)."
    )


LABEL_NAMES = DataFile("radpilot.reports", "data/label_names.json", LabelNamesFile)


def normalize_name(name: str) -> str:
    """Case, spaces, underscores, hyphens and slashes do not distinguish finding names."""
    return re.sub(r"[\s_\-/]+", " ", name.strip().lower()).strip()


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, str]:
    """Normalized spelling -> canonical finding name."""
    table: dict[str, str] = {}
    for canonical, synonyms in LABEL_NAMES.load().labels.items():
        for spelling in (canonical, *synonyms):
            key = normalize_name(spelling)
            if table.get(key, canonical) != canonical:
                raise VocabularyError(
                    f"{LABEL_NAMES.where}: {spelling!r} is listed under both "
                    f"{table[key]!r} and {canonical!r}"
                )
            table[key] = canonical
    return table


def canonical_finding(name: str) -> str:
    """The canonical spelling of a finding name, or the name itself (stripped) when unknown."""
    return synonym_table().get(normalize_name(name), name.strip())


def is_known(name: str) -> bool:
    """Whether ``name`` is a spelling of a known finding label."""
    return normalize_name(name) in synonym_table()


def known_names() -> list[str]:
    """Every canonical finding label name, in file order."""
    return list(LABEL_NAMES.load().labels)

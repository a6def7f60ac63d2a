"""The label sets a report is labelled with: their names and output columns.

A leaf module (it imports nothing of radpilot's): the vocabulary checks its roll-ups
against these names, the labeller fills these columns, and neither needs the other to say
what the columns are. Each set is registered in ``radpilot.registry.label_sets`` under a
versioned name (``"chexpert.v1"``); ``--labels chexpert`` gets the highest version.

>>> CHEXPERT.labels[:3]
('No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly')
>>> CHESTXRAY14.registry_name
'chestxray14.v1'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CHEXPERT_LABELS: tuple[str, ...] = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Lesion",
    "Lung Opacity",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)

CXR14_LABELS: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
    "No Finding",
)


@dataclass(frozen=True, slots=True)
class LabelSet:
    """One set of report-level labels, in its output column order.

    ``rollup`` names the field of each vocabulary finding that says which of these labels
    it rolls up to (``findings.json``: ``chexpert`` / ``cxr14``); ``not_pathology`` lists
    the labels that do not block "No Finding" (CheXpert's Support Devices)."""

    name: str  # as written in outputs and on the command line: "chexpert"
    version: int
    labels: tuple[str, ...]
    rollup: Literal["chexpert", "cxr14"]
    not_pathology: tuple[str, ...] = ()

    @property
    def registry_name(self) -> str:
        return f"{self.name}.v{self.version}"


CHEXPERT = LabelSet("chexpert", 1, CHEXPERT_LABELS, "chexpert", ("Support Devices",))
CHESTXRAY14 = LabelSet("chestxray14", 1, CXR14_LABELS, "cxr14")

"""Report-level labels: CheXpert's 14 observations and ChestX-ray14's 14 + No Finding.

Aggregation rule (the CheXpert labeler's conventions):

1. Only mentions that are findings count: a mention flagged ``hypothetical`` (named in the
   indication, history, comparison, technique or examination section, or under a cue such
   as "rule out", "evaluate for", "recommend CT") is skipped. Historical mentions
   ("old rib fracture", "again seen") do count: the finding is on this image.
2. Each mention's finding rolls up to at most one label: the vocabulary's ``chexpert`` /
   ``cxr14`` field of that finding (no implicit propagation to parents: a granuloma is in
   the lung-lesion branch of the hierarchy but is not a CheXpert "Lung Lesion", matching
   what the OpenI gold codes).
3. A mention's value is 1.0 present, -1.0 uncertain, 0.0 absent (``resolved`` is absent).
   A finding whose vocabulary entry says ``label_certainty: uncertain`` counts a present
   mention as -1.0 (CheXpert: "vascular congestion" is uncertain Edema, "blunting of the
   costophrenic angle" uncertain Pleural Effusion); ``also_uncertain`` adds -1.0 to other
   labels ("congestive heart failure": Edema 1.0 and Cardiomegaly -1.0).
   Across the mentions of one label, positive beats uncertain beats negative; a label no
   mention names is blank (``None``).
4. "No Finding" is 1.0 when no label other than "Support Devices" (and "No Finding") is
   positive or uncertain, and no other abnormal finding of the vocabulary (emphysema,
   granuloma, scoliosis, hernia, ...) is present or uncertain either; otherwise blank.
   For ChestX-ray14, "No Finding" follows the same rule over its 14 labels.

>>> from radpilot.reports import read
>>> from radpilot.reports.labels import chexpert
>>> labels = chexpert(read("IMPRESSION: Possible right lower lobe pneumonia. No effusion."))
>>> labels["Pneumonia"], labels["Pleural Effusion"], labels["Pneumothorax"], labels["No Finding"]
(-1.0, 0.0, None, None)
"""

from __future__ import annotations

from radpilot.reports.models import Certainty, Mention, Report

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

_VALUE = {Certainty.PRESENT: 1.0, Certainty.UNCERTAIN: -1.0, Certainty.ABSENT: 0.0}
_RANK = {None: 0, 0.0: 1, -1.0: 2, 1.0: 3}


def counted(report: Report) -> list[Mention]:
    """The mentions that count towards labels (rule 1)."""
    return [m for m in report.mentions if not m.hypothetical]


def _merge(out: dict[str, float | None], label: str, value: float) -> None:
    if _RANK[value] > _RANK[out[label]]:
        out[label] = value


def _other_abnormal(mentions: list[Mention], field: str) -> bool:
    from radpilot.reports.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    for m in mentions:
        f = vocab.findings[m.finding]
        if m.certainty is not Certainty.ABSENT and f.abnormal and getattr(f, field) is None:
            return True
    return False


def chexpert(report: Report) -> dict[str, float | None]:
    """CheXpert's 14 labels (1.0 / 0.0 / -1.0 / None), in the labeler's column order."""
    from radpilot.reports.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    out: dict[str, float | None] = dict.fromkeys(CHEXPERT_LABELS)
    mentions = counted(report)
    for m in mentions:
        f = vocab.findings[m.finding]
        value = _VALUE[m.certainty]
        if value == 1.0 and f.label_certainty == "uncertain":
            value = -1.0
        if f.chexpert is not None:
            _merge(out, f.chexpert, value)
        if value != 0.0:
            for extra in f.also_uncertain:
                _merge(out, extra, -1.0)
    pathology = any(
        out[k] in (1.0, -1.0) for k in CHEXPERT_LABELS if k not in ("No Finding", "Support Devices")
    )
    if not pathology and not _other_abnormal(mentions, "chexpert"):
        out["No Finding"] = 1.0
    return out


def chestxray14(report: Report) -> dict[str, float | None]:
    """ChestX-ray14's 14 labels + No Finding (1.0 / 0.0 / -1.0 / None)."""
    from radpilot.reports.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    out: dict[str, float | None] = dict.fromkeys(CXR14_LABELS)
    mentions = counted(report)
    for m in mentions:
        f = vocab.findings[m.finding]
        value = _VALUE[m.certainty]
        if value == 1.0 and f.label_certainty == "uncertain":
            value = -1.0
        if f.cxr14 is not None:
            _merge(out, f.cxr14, value)
    pathology = any(out[k] in (1.0, -1.0) for k in CXR14_LABELS if k != "No Finding")
    if not pathology and not _other_abnormal(mentions, "cxr14"):
        out["No Finding"] = 1.0
    return out

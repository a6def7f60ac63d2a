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
4. The uncertainty policy (``policy=``) decides what a hedged diagnosis counts as:

   * ``"chexpert"`` (the CheXpert labeler's convention): every hedge is -1.0.
   * ``"radpilot"`` (the default): a diagnosis offered as a possible explanation of an
     observation the report states is not a label of its own. A mention of a finding
     whose vocabulary ``role`` is ``diagnosis`` and whose hedge is ``possible`` ("opacity,
     may represent pneumonia", "concerning for", "cannot exclude", "differential includes",
     "correlate clinically for") adds nothing to the labels when the report states an
     abnormal observation (a counted, non-absent mention of an abnormal ``observation``
     finding) in the same sentence or the one before, which it would explain. A ``possible``
     observation offered that way as a reading of another stated observation ("nodular
     density, could represent a true nodule") adds nothing either, nor does an ``etiology``
     ("consistent with infection") anywhere in a report that states an abnormal
     observation. The mention itself is unchanged: it stays UNCERTAIN, with its hedge
     and cue as evidence.
     Hedged observations ("borderline cardiomegaly", "possible small effusion"), diagnoses
     the radiologist leans towards ("likely atelectasis", "compatible with pneumonia") or
     names as one of two alternatives ("atelectasis or pneumonia"), and a possibility stated
     with no stated observation nearby to explain ("possible pneumonia." alone) stay -1.0. Why: expert
     coders (the OpenI MeSH indexers, the NegBio gold) code the observation a radiologist
     states and a diagnosis the radiologist commits to, not each differential offered.

5. "No Finding" is 1.0 when no label other than "Support Devices" (and "No Finding") is
   positive or uncertain, and no other abnormal finding of the vocabulary (emphysema,
   granuloma, scoliosis, hernia, ...) is present or uncertain either; otherwise blank.
   For ChestX-ray14, "No Finding" follows the same rule over its 14 labels.

>>> from radpilot.reports import read
>>> from radpilot.reports.labels import chexpert
>>> labels = chexpert(read("IMPRESSION: Possible right lower lobe pneumonia. No effusion."))
>>> labels["Pneumonia"], labels["Pleural Effusion"], labels["Pneumothorax"], labels["No Finding"]
(-1.0, 0.0, None, None)
>>> report = read("IMPRESSION: Right basilar opacity, may represent pneumonia.")
>>> chexpert(report)["Pneumonia"], chexpert(report, policy="chexpert")["Pneumonia"]
(None, -1.0)
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from radpilot.errors import InputError
from radpilot.reports.models import Certainty, Hedge, Mention, Report

if TYPE_CHECKING:
    from radpilot.reports.vocabulary import Finding, Vocabulary


class UncertaintyPolicy(StrEnum):
    """How hedged mentions become labels (rule 4 above)."""

    RADPILOT = "radpilot"
    CHEXPERT = "chexpert"


DEFAULT_POLICY = UncertaintyPolicy.RADPILOT

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


def uncertainty_policy(policy: str | UncertaintyPolicy) -> UncertaintyPolicy:
    """A policy by name; an unknown name lists the valid ones."""
    try:
        return UncertaintyPolicy(policy)
    except ValueError:
        valid = ", ".join(p.value for p in UncertaintyPolicy)
        raise InputError(f"unknown uncertainty policy {policy!r}; valid: {valid}") from None


def _possible(m: Mention) -> bool:
    return m.certainty is Certainty.UNCERTAIN and m.hedge is Hedge.POSSIBLE


def _stated_observation(m: Mention, f: Finding) -> bool:
    from radpilot.reports.vocabulary import FindingRole

    return (
        f.role is FindingRole.OBSERVATION
        and f.abnormal
        and m.certainty is not Certainty.ABSENT
        and not _possible(m)
    )


def _policy_mentions(
    report: Report, mentions: list[Mention], vocab: Vocabulary, policy: str | UncertaintyPolicy
) -> list[Mention]:
    """The mentions that set labels under ``policy`` (rule 4): under ``radpilot``, drop the
    possibilities offered only to explain an observation the report states."""
    from radpilot.reports.vocabulary import FindingRole

    if uncertainty_policy(policy) is UncertaintyPolicy.CHEXPERT:
        return mentions
    found = vocab.findings
    if not any(_possible(m) or found[m.finding].role is FindingRole.ETIOLOGY for m in mentions):
        return mentions  # most reports: nothing the policy could drop
    stated = [m for m in mentions if _stated_observation(m, found[m.finding])]
    if not stated:
        return mentions
    # A possibility offered for an observation sits in its sentence or refers back to the
    # one before ("Nodular density at the right apex. This may represent a true nodule.").
    starts = sorted({x.start for x in report.sentences} | {m.sentence.start for m in mentions})
    index = {start: i for i, start in enumerate(starts)}
    observed: dict[int, set[str]] = {}
    for o in stated:
        observed.setdefault(index[o.sentence.start], set()).add(o.finding)

    def explains_a_nearby_observation(m: Mention) -> bool:
        i = index[m.sentence.start]
        return bool((observed.get(i, set()) | observed.get(i - 1, set())) - {m.finding})

    kept: list[Mention] = []
    for m in mentions:
        role = found[m.finding].role
        if role is FindingRole.ETIOLOGY and m.certainty is not Certainty.ABSENT:
            continue  # "consistent with infection": a cause, not which disease is seen
        if role is FindingRole.DIAGNOSIS and _possible(m) and explains_a_nearby_observation(m):
            continue  # inferred from what is seen: it explains the observation stated
        if role is FindingRole.OBSERVATION and _possible(m) and explains_a_nearby_observation(m):
            continue  # "nodular density, could represent a nodule": a reading of the density
        kept.append(m)
    return kept


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


def chexpert(
    report: Report, *, policy: str | UncertaintyPolicy = DEFAULT_POLICY
) -> dict[str, float | None]:
    """CheXpert's 14 labels (1.0 / 0.0 / -1.0 / None), in the labeler's column order.

    ``policy``: ``"radpilot"`` (default) or ``"chexpert"`` (every hedge is -1.0); see rule 4.
    """
    return _aggregate(report, policy, "chexpert", CHEXPERT_LABELS, ("Support Devices",))


def chestxray14(
    report: Report, *, policy: str | UncertaintyPolicy = DEFAULT_POLICY
) -> dict[str, float | None]:
    """ChestX-ray14's 14 labels + No Finding (1.0 / 0.0 / -1.0 / None); ``policy`` as for
    :func:`chexpert`."""
    return _aggregate(report, policy, "cxr14", CXR14_LABELS, ())


def _aggregate(
    report: Report,
    policy: str | UncertaintyPolicy,
    field: str,
    names: tuple[str, ...],
    not_pathology: tuple[str, ...],
) -> dict[str, float | None]:
    """Rules 2-5 for one label set: ``field`` names the vocabulary's roll-up to it;
    ``not_pathology`` lists the labels that do not block "No Finding"."""
    from radpilot.reports.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    out: dict[str, float | None] = dict.fromkeys(names)
    mentions = counted(report)
    for m in _policy_mentions(report, mentions, vocab, policy):
        f = vocab.findings[m.finding]
        value = _VALUE[m.certainty]
        if value == 1.0 and f.label_certainty is Certainty.UNCERTAIN:
            value = -1.0
        label = getattr(f, field)
        if label is not None:
            _merge(out, label, value)
        if value != 0.0:
            # ``also_uncertain`` names CheXpert labels ("heart failure" -> Cardiomegaly -1.0).
            for extra in f.also_uncertain if field == "chexpert" else ():
                _merge(out, extra, -1.0)
    skip = {"No Finding", *not_pathology}
    pathology = any(out[k] in (1.0, -1.0) for k in names if k not in skip)
    if not pathology and not _other_abnormal(mentions, field):
        out["No Finding"] = 1.0
    return out

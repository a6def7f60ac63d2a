"""Report-level labels: CheXpert's 14 observations and ChestX-ray14's 14 + No Finding.

Aggregation rule (the CheXpert labeler's conventions):

1. Only mentions that are findings count: a mention flagged ``hypothetical`` (named in the
   indication, history, comparison, technique or examination section, or under a cue such
   as "rule out", "evaluate for", "recommend CT") is skipped. Historical mentions
   ("old rib fracture", "again seen") do count: the finding is on this image. A mention
   under another body part's sub-header of a combined examination ("Right knee: small
   effusion", ``Mention.region``) is skipped too: it is not a finding of the chest. A
   finding of the chest's anatomy that the other image shows as well (``any_region`` in
   ``findings.json``: "ABDOMEN: pleural effusions at the lung bases", free air under the
   diaphragm) has no region and counts.
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
   mention names is blank (``None``). Alternatives that all roll up to one label ("left
   upper lobe nodule/mass", "mass or nodule": two or more mentions of one sentence hedged
   only as alternatives) state that label, whichever of them it is: 1.0; one whose other
   side rolls up elsewhere or nowhere ("atelectasis or consolidation", "pneumothorax vs
   skin fold") stays -1.0. An addendum has the last word on the labels it names: where
   its mentions set a label, the mentions before it do not ("FINDINGS: New pleural
   effusion. ADDENDUM: there is no pleural effusion; 'new pleural effusion' was a voice
   recognition error": 0.0); the labels it does not name stay as the report sets them.
4. The uncertainty policy (``policy=``, :mod:`radpilot.reports.policy`) decides what a
   hedged mention counts as:

   * ``"chexpert"`` (the CheXpert labeler's convention): every hedge is -1.0.
   * ``"radpilot"`` (the default): a possibility offered to explain an observation the
     report states is not a label of its own. A ``possible`` mention ("opacity, may
     represent pneumonia", "concerning for", "cannot exclude", "differential includes",
     "correlate clinically for") of a diagnosis or an observation adds nothing to the
     labels when the report states, in the same sentence or the one before, an abnormal
     observation (a counted, non-absent, not merely possible mention of an abnormal
     ``observation`` finding) that it CAN explain: which findings explain which
     observations is data (``data/explanations.json``: a pneumonia explains an opacity
     or a consolidation, an atelectasis an opacity or volume loss, an edema interstitial
     markings or vascular congestion, a nodule a nodular density; a pneumothorax explains
     nothing). An ``etiology`` ("consistent with infection") adds nothing when the report
     states, anywhere, an observation it can explain. A ``possible`` mention listed with
     other hedged findings under one hedge phrase ("differential diagnosis includes edema
     and infection", "may be secondary to crowding, infiltrates or edema") is one of
     several explanations offered and adds nothing either, whatever it is offered for.
     An anatomy said only to be unchanged ("stable cardiomediastinal silhouette", "heart
     size is unchanged": uncertain through a qualifier that is no hedge phrase) is no
     label either: it says the anatomy is as it was, not that it is abnormal (the CheXpert
     labeler makes it -1.0). The mention itself is unchanged: it stays UNCERTAIN, with its
     hedge and cue as evidence.
     Hedged observations ("borderline cardiomegaly", "possible small effusion"), diagnoses
     the radiologist leans towards ("likely atelectasis", "compatible with pneumonia") or
     names as one of two alternatives ("atelectasis or pneumonia"), and a possibility with
     nothing it could explain nearby ("possible pneumonia." alone; "Stable cardiomegaly.
     Cannot exclude pneumothorax.") stay -1.0. Why: expert coders (the OpenI MeSH
     indexers, the NegBio gold) code the observation a radiologist states and a diagnosis
     the radiologist commits to, not each differential offered to explain it.

5. "No Finding" is 1.0 when no label other than "Support Devices" (and "No Finding") is
   positive or uncertain, no other abnormal finding of the vocabulary (emphysema,
   granuloma, scoliosis, hernia, ...) is present or uncertain either, and the policy set
   aside no possibility of a pathology ("Possible pneumonia or atelectasis." sets neither
   label under the ``radpilot`` policy, and is no normal report); otherwise blank.
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

from collections.abc import Sequence
from dataclasses import dataclass

from radpilot.reports.labelsets import (
    CHESTXRAY14,
    CHEXPERT,
    CHEXPERT_LABELS,
    CXR14_LABELS,
    LabelSet,
)
from radpilot.reports.models import Certainty, Hedge, Mention, Report
from radpilot.reports.policy import DEFAULT_POLICY, UncertaintyPolicy, raised, uncertainty_policy
from radpilot.reports.vocabulary import Vocabulary, vocabulary_of

__all__ = [
    "CHEXPERT_LABELS",
    "CXR14_LABELS",
    "DEFAULT_POLICY",
    "UncertaintyPolicy",
    "chestxray14",
    "chexpert",
    "counted",
    "label",
    "label_set",
    "no_finding",
    "rollup",
    "uncertainty_policy",
]

_VALUE = {Certainty.PRESENT: 1.0, Certainty.UNCERTAIN: -1.0, Certainty.ABSENT: 0.0}
_ADDENDUM = "addendum"  # the section whose mentions supersede the report's (rule 3)
_RANK = {None: 0, 0.0: 1, -1.0: 2, 1.0: 3}


def counted(report: Report) -> list[Mention]:
    """The mentions that count towards labels (rule 1)."""
    return [m for m in report.mentions if not m.hypothetical and m.region is None]


def label_set(name: str | LabelSet) -> LabelSet:
    """A label set object, or one by registry name ("chexpert" gets its highest version);
    an unknown name lists the valid ones (``RegistryError``)."""
    if isinstance(name, LabelSet):
        return name
    from radpilot import registry

    found: LabelSet = registry.label_sets.get(name)
    return found


def _merge(out: dict[str, float | None], label: str, value: float) -> None:
    if _RANK[value] > _RANK[out[label]]:
        out[label] = value


def rollup(m: Mention, labels: LabelSet, vocab: Vocabulary) -> list[tuple[str, float]]:
    """The (label, value) pairs one counted mention sets in ``labels`` (rules 2 and 3).

    Its finding's one label of the set (``findings.json``: ``chexpert`` / ``cxr14``; none
    for a finding that rolls up to nothing) at 1.0 present, -1.0 uncertain, 0.0 absent; a
    present mention of a finding with ``label_certainty: uncertain`` at -1.0 ("vascular
    congestion": Edema -1.0); and, for CheXpert, -1.0 on each ``also_uncertain`` label of
    a mention that is not absent ("congestive heart failure": Edema 1.0, Cardiomegaly
    -1.0). No propagation to parents. :func:`label` merges the pairs of every mention
    (positive beats uncertain beats negative).

    >>> from radpilot.reports import read
    >>> from radpilot.reports.labelsets import CHEXPERT
    >>> from radpilot.reports.vocabulary import load_vocabulary
    >>> m = read("Congestive heart failure.").mentions[0]
    >>> rollup(m, CHEXPERT, load_vocabulary())
    [('Edema', 1.0), ('Cardiomegaly', -1.0)]
    """
    f = vocab.findings[m.finding]
    value = _VALUE[m.certainty]
    if value == 1.0 and f.label_certainty is Certainty.UNCERTAIN:
        value = -1.0
    out: list[tuple[str, float]] = []
    name = getattr(f, labels.rollup)
    if name is not None:
        out.append((name, value))
    if value != 0.0 and labels.rollup == "chexpert":
        # ``also_uncertain`` names CheXpert labels ("heart failure" -> Cardiomegaly -1.0).
        out.extend((extra, -1.0) for extra in f.also_uncertain)
    return out


def no_finding(
    values: dict[str, float | None],
    mentions: list[Mention],
    labels: LabelSet,
    vocab: Vocabulary,
    offered: Sequence[Mention] = (),
) -> float | None:
    """The "No Finding" value (rule 5): 1.0 when no label of ``labels`` other than "No
    Finding" and its ``not_pathology`` labels (CheXpert's Support Devices) is positive or
    uncertain in ``values``, and no counted mention of another abnormal finding (one that
    rolls up to no label of the set: emphysema or a granuloma for CheXpert, a hernia on
    a chest film) is present or uncertain, and no possibility the policy set aside
    (``offered``, :func:`radpilot.reports.policy.raised`) names a pathology; otherwise
    None (blank, never 0.0). A negated finding, a device and a normal variant
    (``abnormal: false``) leave it 1.0.

    >>> from radpilot.reports import read
    >>> from radpilot.reports.labelsets import CHEXPERT
    >>> from radpilot.reports.vocabulary import load_vocabulary
    >>> r = read("Calcified granuloma. No effusion.")
    >>> no_finding({"Pleural Effusion": 0.0}, list(r.mentions), CHEXPERT, load_vocabulary())
    """
    skip = {"No Finding", *labels.not_pathology}
    if any(values.get(k) in (1.0, -1.0) for k in labels.labels if k not in skip):
        return None
    for m in mentions:
        f = vocab.findings[m.finding]
        if m.certainty is not Certainty.ABSENT and f.abnormal and getattr(f, labels.rollup) is None:
            return None
    for m in offered:
        f = vocab.findings[m.finding]
        if f.abnormal and getattr(f, labels.rollup) not in skip:
            return None
    return 1.0


def chexpert(
    report: Report, *, policy: str | UncertaintyPolicy = DEFAULT_POLICY
) -> dict[str, float | None]:
    """CheXpert's 14 labels (1.0 / 0.0 / -1.0 / None), in the labeler's column order.

    ``policy``: ``"radpilot"`` (default) or ``"chexpert"`` (every hedge is -1.0), or a
    policy object; see rule 4.
    """
    return label(report, CHEXPERT, policy=policy)


def chestxray14(
    report: Report, *, policy: str | UncertaintyPolicy = DEFAULT_POLICY
) -> dict[str, float | None]:
    """ChestX-ray14's 14 labels + No Finding (1.0 / 0.0 / -1.0 / None); ``policy`` as for
    :func:`chexpert`."""
    return label(report, CHESTXRAY14, policy=policy)


@dataclass(frozen=True, slots=True)
class _Table:
    """Rules 2, 3 and 5 of one label set over one vocabulary, looked up by finding id:
    what :func:`rollup` and :func:`no_finding` work out mention by mention."""

    vocab: Vocabulary  # both held, so that their ids are not reused while cached
    labels: LabelSet
    # finding id -> (its label or None, a present mention's value, also_uncertain labels)
    rollups: dict[str, tuple[str | None, float, tuple[str, ...]]]
    unlabelled_abnormal: frozenset[str]  # abnormal findings that roll up to no label
    blocking: tuple[str, ...]  # labels whose positive or uncertain value blanks No Finding


_TABLES: dict[tuple[int, int], _Table] = {}


def _table(vocab: Vocabulary, labels: LabelSet) -> _Table:
    hit = _TABLES.get((id(vocab), id(labels)))
    if hit is not None and hit.vocab is vocab and hit.labels is labels:
        return hit
    rollups: dict[str, tuple[str | None, float, tuple[str, ...]]] = {}
    for f in vocab:
        present = -1.0 if f.label_certainty is Certainty.UNCERTAIN else 1.0
        also = f.also_uncertain if labels.rollup == "chexpert" else ()
        rollups[f.id] = (getattr(f, labels.rollup), present, also)
    unlabelled = frozenset(f.id for f in vocab if f.abnormal and getattr(f, labels.rollup) is None)
    skip = {"No Finding", *labels.not_pathology}
    blocking = tuple(k for k in labels.labels if k not in skip)
    if len(_TABLES) >= 16:
        _TABLES.clear()
    hit = _Table(vocab, labels, rollups, unlabelled, blocking)
    _TABLES[(id(vocab), id(labels))] = hit
    return hit


def label(
    report: Report,
    labels: LabelSet,
    *,
    policy: str | UncertaintyPolicy = DEFAULT_POLICY,
) -> dict[str, float | None]:
    """Rules 1-5 for one label set, in its column order: the counted mentions (rule 1,
    :func:`counted`), those the uncertainty policy keeps (rule 4,
    ``UncertaintyPolicy.select``), each rolled up (rules 2-3, :func:`rollup`) and merged,
    then "No Finding" (rule 5, :func:`no_finding`); the last two through a table per
    vocabulary and label set (the same values, looked up once per finding)."""
    chosen = policy if isinstance(policy, UncertaintyPolicy) else uncertainty_policy(policy)
    vocab = vocabulary_of(report)  # the user's merged vocabulary, if it was read with one
    table = _table(vocab, labels)
    out: dict[str, float | None] = dict.fromkeys(labels.labels)
    mentions = counted(report)
    rank = _RANK
    rollups = table.rollups
    settled = _one_label_alternatives(mentions, rollups)
    chosen_mentions = chosen.select(report, mentions, vocab)
    amended = {rollups[m.finding][0] for m in chosen_mentions if m.section == _ADDENDUM}
    amended.discard(None)
    for m in chosen_mentions:
        name, present, also = rollups[m.finding]
        if name in amended and m.section != _ADDENDUM:
            continue  # the addendum corrects or restates it
        value = _VALUE[m.certainty]
        if value == 1.0 or (value == -1.0 and id(m) in settled):
            value = present
        if name is not None and rank[value] > rank[out[name]]:
            out[name] = value
        if value != 0.0:
            for extra in also:  # "heart failure" -> Cardiomegaly -1.0
                if rank[-1.0] > rank[out[extra]]:
                    out[extra] = -1.0
    if _no_finding(out, mentions, table, raised(mentions, chosen_mentions)):
        out["No Finding"] = 1.0
    return out


def _one_label_alternatives(
    mentions: list[Mention], rollups: dict[str, tuple[str | None, float, tuple[str, ...]]]
) -> set[int]:
    """The ids of uncertain mentions that are alternatives of one sentence all rolling up to
    one label (rule 3: "nodule/mass" states a Lung Lesion whichever it is)."""
    by_sentence: dict[int, list[Mention]] = {}
    for m in mentions:
        if m.certainty is Certainty.UNCERTAIN and m.hedge is Hedge.ALTERNATIVE:
            by_sentence.setdefault(m.sentence.start, []).append(m)
    settled: set[int] = set()
    for group in by_sentence.values():
        names = {rollups[m.finding][0] for m in group}
        if len(group) > 1 and len(names) == 1 and None not in names:
            settled.update(id(m) for m in group)
    return settled


def _no_finding(
    values: dict[str, float | None], mentions: list[Mention], table: _Table, offered: list[Mention]
) -> bool:
    """:func:`no_finding` == 1.0, through the table; ``offered``: the possibilities the
    policy set aside (``policy.raised``), which blank it when they name a pathology."""
    for k in table.blocking:
        if values.get(k) in (1.0, -1.0):
            return False
    blocking = table.blocking
    for m in offered:
        name = table.rollups[m.finding][0]
        if (name is not None and name in blocking) or m.finding in table.unlabelled_abnormal:
            return False
    unlabelled = table.unlabelled_abnormal
    return not any(
        m.finding in unlabelled and m.certainty is not Certainty.ABSENT for m in mentions
    )

"""Uncertainty policies: which hedged mentions set report-level labels (rule 4 of
:mod:`radpilot.reports.labels`).

A policy never changes a mention (it stays UNCERTAIN, with its hedge and cue as evidence);
it only picks the mentions that become labels. Two are registered in
``radpilot.registry.uncertainty_policies``:

* ``chexpert.v1``: every hedge is -1.0, as the CheXpert labeler does.
* ``radpilot.v1`` (the default): a possibility offered to explain what the report states
  is no label of its own. Which findings can explain which observations is data
  (``data/explanations.json``): a pneumonia explains an opacity or a consolidation,
  an atelectasis an opacity or volume loss, an edema interstitial markings or vascular
  congestion; a pneumothorax explains nothing, so "Stable cardiomegaly. Cannot exclude
  pneumothorax." keeps Pneumothorax -1.0. A possibility listed under one hedge with other
  hedged findings ("may be secondary to crowding, infiltrates or edema", "the
  differential diagnosis includes round pneumonia and a mass", "atelectasis or possibly
  pneumonia") is one of several explanations offered, committed to none: it is no label
  either, whether or not the reader knows the observation they are offered for.

>>> from radpilot.reports import read
>>> from radpilot.reports.labels import chexpert
>>> chexpert(read("Stable cardiomegaly. Cannot exclude pneumothorax."))["Pneumothorax"]
-1.0
>>> chexpert(read("Right basilar opacity, may represent pneumonia."))["Pneumonia"] is None
True
>>> uncertainty_policy("radpilot").name
'radpilot.v1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.errors import VocabularyError
from radpilot.reports.models import Certainty, Hedge, Mention, Report
from radpilot.reports.rules import cue_rules
from radpilot.reports.vocabulary import FindingRole, Vocabulary, load_vocabulary


class ExplanationSettings(DataModel):
    sentences_before: int = Field(
        ge=0,
        description="A possibility explains observations stated in its own sentence and in "
        "this many sentences before it (1: 'Nodular density. This may represent a nodule.').",
    )
    sections_explained: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Section name -> the sections whose stated observations a possibility "
        "in it also explains, wherever they are ({'impression': ['findings']}: the "
        "impression's 'possible pneumonia' is offered for the opacity the findings describe).",
    )


class ExplanationsFile(DataDocument):
    """``explanations.json``: finding id -> the observation ids it can explain."""

    version: str
    settings: ExplanationSettings
    explains: dict[str, list[str]] = Field(
        description="A finding id (a diagnosis, an etiology or an observation) -> the "
        "observation ids it can explain, exactly (no hierarchy expansion)."
    )


EXPLANATIONS = DataFile("radpilot.reports", "data/explanations.json", ExplanationsFile)


@dataclass(frozen=True, slots=True)
class Explanations:
    """The checked table: what each finding can explain, and the sentence window."""

    explains: Mapping[str, frozenset[str]]
    sentences_before: int
    sections_explained: Mapping[str, frozenset[str]]


def check_explanations(doc: ExplanationsFile, vocab: Vocabulary, where: str) -> Explanations:
    """Cross-check the table against the vocabulary: every key is a finding, every listed
    id an abnormal observation other than the key, and every diagnosis and etiology has an
    entry (an empty list says it explains nothing), so a new one cannot be forgotten."""
    found = vocab.findings
    table: dict[str, frozenset[str]] = {}
    for key, observations in doc.explains.items():
        if key not in found:
            raise VocabularyError(f"{where}: explains.{key}: not a finding id of the vocabulary")
        for i, obs in enumerate(observations):
            at = f"{where}: explains.{key}[{i}]"
            f = found.get(obs)
            if f is None:
                raise VocabularyError(f"{at}: {obs!r} is not a finding id of the vocabulary")
            if f.role is not FindingRole.OBSERVATION or not f.abnormal:
                raise VocabularyError(
                    f"{at}: {obs!r} is not an abnormal observation (only a stated "
                    "abnormal observation can be explained)"
                )
            if obs == key:
                raise VocabularyError(f"{at}: a finding does not explain itself")
        if len(set(observations)) != len(observations):
            raise VocabularyError(f"{where}: explains.{key}: an id is listed twice")
        table[key] = frozenset(observations)
    missing = [f.id for f in vocab if f.role is not FindingRole.OBSERVATION and f.id not in table]
    if missing:
        raise VocabularyError(
            f"{where}: explains: no entry for {', '.join(missing)} (every diagnosis and "
            "etiology needs one; [] if it explains nothing)"
        )
    sections = {k: frozenset(v) for k, v in doc.settings.sections_explained.items()}
    return Explanations(table, doc.settings.sentences_before, sections)


@cache
def explanations() -> Explanations:
    """The packaged table, loaded and checked once."""
    return check_explanations(EXPLANATIONS.load(), load_vocabulary(), EXPLANATIONS.where)


@dataclass(frozen=True)
class UncertaintyPolicy:
    """How hedged mentions become labels. ``select`` returns the mentions that set labels."""

    name: str  # the registry name, "chexpert.v1"
    summary: str

    @property
    def base_name(self) -> str:
        """The name without its version ("chexpert"), as typed on the command line."""
        return self.name.rsplit(".v", 1)[0]

    def select(self, report: Report, mentions: list[Mention], vocab: Vocabulary) -> list[Mention]:
        return mentions


def _possible(m: Mention) -> bool:
    return m.certainty is Certainty.UNCERTAIN and m.hedge is Hedge.POSSIBLE


def unchanged_only(m: Mention) -> bool:
    """Is ``m`` uncertain only through an uncertain qualifier that is no hedge phrase
    ("stable cardiomediastinal silhouette", "heart size is unchanged")? That says the
    anatomy is as it was, not that it is abnormal: no label under this policy (the CheXpert
    labeler's convention, -1.0, is the ``chexpert`` policy's)."""
    return _possible(m) and bool(m.cues) and m.cues[0].lower() not in cue_rules().hedges


def raised(mentions: list[Mention], kept: list[Mention]) -> list[Mention]:
    """The hedged mentions a policy set aside (in ``mentions``, not in ``kept``) that
    still raise a possibility: every one but an anatomy said only to be unchanged
    (:func:`unchanged_only`). They set no label of their own, but a report that offers
    "possible pneumonia or atelectasis" is not one with no finding (rule 5 of
    :mod:`radpilot.reports.labels`)."""
    if len(kept) == len(mentions):
        return []
    ids = {id(m) for m in kept}
    return [m for m in mentions if id(m) not in ids and not unchanged_only(m)]


def _several(m: Mention, mentions: list[Mention], text: str) -> bool:
    """Is ``m`` a possibility listed with another hedged finding under the same hedge
    cue ("differential diagnosis includes edema, infection"; "may be secondary to
    infiltrates or edema")? The same phrase decided both, in one sentence, with no second
    instance of it between them (which would be a second, separate hedge)."""
    if not _possible(m) or not m.cues:
        return False
    cue = m.cues[0].lower()
    if cue not in cue_rules().hedges:
        return False  # an uncertain qualifier ("heart and mediastinum stable"), no hedge
    for o in mentions:
        if (
            o is m
            or o.finding == m.finding
            or o.certainty is not Certainty.UNCERTAIN
            or o.sentence.start != m.sentence.start
            or not o.cues
            or o.cues[0].lower() != cue
        ):
            continue
        lo, hi = (
            (o.span.end, m.span.start) if o.span.end <= m.span.start else (m.span.end, o.span.start)
        )
        if cue not in text[lo:hi].lower():
            return True
    return False


@dataclass(frozen=True)
class ExplainingPolicy(UncertaintyPolicy):
    """radpilot's policy: a possibility offered to explain a stated observation (one it can
    explain, per ``explanations.json``) sets no label; see the module docstring."""

    def select(self, report: Report, mentions: list[Mention], vocab: Vocabulary) -> list[Mention]:
        """The counted mentions that set labels: all but (1) an etiology ("infection") in a
        report that states anywhere an observation it can explain; (2) a ``possible``
        mention that can explain an abnormal observation stated in its sentence, the one
        before (``sentences_before``) or, for the impression, the findings
        (``sections_explained``); (3) a ``possible`` mention listed with another hedged
        finding under the same hedge phrase (one of several explanations); (4) an anatomy
        said only to be unchanged ("stable cardiomediastinal silhouette", :func:`unchanged_only`).
        Tables of cases: ``tests/reports/test_policy.py``, ``regression_policy.jsonl``."""
        found = vocab.findings
        if not any(_possible(m) or found[m.finding].role is FindingRole.ETIOLOGY for m in mentions):
            return mentions  # most reports: nothing the policy could drop
        stated = [m for m in mentions if _stated_observation(m, vocab)]
        if not stated:  # nothing to explain: only rules (3) and (4) can apply
            return [
                m for m in mentions if not (_several(m, mentions, report.text) or unchanged_only(m))
            ]
        table = explanations()
        # A possibility offered for an observation sits in its sentence or refers back
        # ("Nodular density at the right apex. This may represent a true nodule.").
        starts = sorted({x.start for x in report.sentences} | {m.sentence.start for m in mentions})
        index = {start: i for i, start in enumerate(starts)}
        observed: dict[int, set[str]] = {}
        in_section: dict[str, set[str]] = {}
        for o in stated:
            observed.setdefault(index[o.sentence.start], set()).add(o.finding)
            in_section.setdefault(o.section, set()).add(o.finding)
        everywhere = {o.finding for o in stated}

        def explains_nearby(m: Mention) -> bool:
            can = table.explains.get(m.finding)
            if not can:
                return False
            i = index[m.sentence.start]
            if any(
                not can.isdisjoint(observed.get(j, ()))
                for j in range(i - table.sentences_before, i + 1)
            ):
                return True
            return any(
                not can.isdisjoint(in_section.get(s, ()))
                for s in table.sections_explained.get(m.section, ())
            )

        kept: list[Mention] = []
        for m in mentions:
            role = found[m.finding].role
            if role is FindingRole.ETIOLOGY and m.certainty is not Certainty.ABSENT:
                if not table.explains.get(m.finding, frozenset()).isdisjoint(everywhere):
                    continue  # "consistent with infection": a cause of what is seen
            elif _possible(m) and explains_nearby(m):
                continue  # offered to explain the observation stated beside it
            elif _several(m, mentions, report.text) or unchanged_only(m):
                continue  # one of several explanations offered, none committed to
            kept.append(m)
        return kept


def _stated_observation(m: Mention, vocab: Vocabulary) -> bool:
    f = vocab.findings[m.finding]
    return (
        f.role is FindingRole.OBSERVATION
        and f.abnormal
        and m.certainty is not Certainty.ABSENT
        and not _possible(m)
    )


CHEXPERT = UncertaintyPolicy("chexpert.v1", "every hedge is -1.0 (the CheXpert labeler)")
RADPILOT = ExplainingPolicy(
    "radpilot.v1",
    "a possibility offered to explain a stated observation is no label (data: "
    "explanations.json); every other hedge is -1.0",
)
DEFAULT_POLICY: UncertaintyPolicy = RADPILOT


def uncertainty_policy(policy: str | UncertaintyPolicy) -> UncertaintyPolicy:
    """A policy object, or one by registry name ("radpilot" gets its highest version); an
    unknown name lists the valid ones (``RegistryError``)."""
    if isinstance(policy, UncertaintyPolicy):
        return policy
    from radpilot import registry

    found: UncertaintyPolicy = registry.uncertainty_policies.get(policy)
    return found


def policy_names() -> Sequence[str]:
    """Every registered policy name, versioned."""
    from radpilot import registry

    return registry.uncertainty_policies.names()

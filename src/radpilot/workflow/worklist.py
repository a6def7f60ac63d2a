"""The triaged worklist: unread studies in the order a radiologist should read them.

The ranking is data (``workflow/data/worklist.json``, :class:`WorklistRule`): points for
the study's urgency tier (``radpilot.imaging.urgency``), for its urgency score, for each
critical finding an image shows, and for every hour waited; a study that has waited the
ageing cap is *overdue* and comes before every study that is not, longest wait first, so
no study waits forever. :func:`rank` is the one ordering used by ``radpilot worklist``
and by the queue simulation (``benchmarks/worklist_queue.py``), so the figures measure
the code that orders the real list. Each entry carries the reasons that placed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.imaging.rules import FindingName
from radpilot.reports.labelnames import canonical_finding
from radpilot.workflow.studies import Study, parse_received

Points = Annotated[float, Field(ge=0.0)]
TIERS = ("urgent", "not_assessed", "unanalysed", "routine")


class CriticalRule(DataModel):
    finding: FindingName = Field(description="Canonical finding name (label_names.json).")
    points: Points = Field(description="Priority points when an image shows it positive.")
    min_probability: float = Field(
        0.0, ge=0.0, le=1.0, description="Also require at least this probability."
    )
    reason: str = Field(min_length=1, description="The reason shown on the worklist.")


class WorklistRule(DataDocument):
    """``worklist.json``: the worklist's ranking function and its weights."""

    tier_points: dict[str, Points] = Field(
        description="Points per urgency tier: urgent, not_assessed, unanalysed, routine."
    )
    score_points: Points = Field(description="Points per unit of the study's urgency score.")
    wait_points_per_hour: Points = Field(description="Points for every hour waited.")
    ageing_cap_minutes: float = Field(
        gt=0.0, description="A study waiting this long is overdue: ahead of all others."
    )
    critical: list[CriticalRule] = Field(description="Critical findings and their points.")
    critical_before_overdue: bool = Field(
        description="A study with a critical finding still comes before overdue studies "
        "(they then wait at most the cap plus the critical studies' reading)."
    )

    def model_post_init(self, context: Any, /) -> None:
        missing = [t for t in TIERS if t not in self.tier_points]
        unknown = sorted(set(self.tier_points) - set(TIERS))
        if missing or unknown:
            raise ValueError(
                f"tier_points: needs exactly {', '.join(TIERS)}"
                f" (missing: {missing or 'none'}; unknown: {unknown or 'none'})"
            )


WORKLIST = DataFile("radpilot.workflow", "data/worklist.json", WorklistRule)


def default_rule() -> WorklistRule:
    return WORKLIST.load()


@dataclass(frozen=True)
class Case:
    """What the ranking reads of a study: independent of where it is stored, so the
    simulation ranks the same objects the CLI does."""

    key: str
    arrived: float  # minutes on any clock; waits are ``now - arrived``
    tier: str  # one of TIERS
    score: float = 0.0
    positives: Mapping[str, float] | None = None  # positive finding -> probability


@dataclass(frozen=True)
class Ranked:
    case: Case
    priority: float
    overdue: bool
    wait_minutes: float
    reasons: tuple[str, ...]
    critical: bool = False


def assess(case: Case, now: float, rule: WorklistRule) -> Ranked:
    """One case's priority at ``now`` and the reasons that make it up."""
    wait = max(0.0, now - case.arrived)
    tier = case.tier if case.tier in rule.tier_points else "unanalysed"
    priority = rule.tier_points[tier] + rule.score_points * case.score
    reasons: list[str] = []
    critical = False
    for crit in rule.critical:
        p = (case.positives or {}).get(crit.finding)
        if p is not None and p >= crit.min_probability:
            priority += crit.points
            critical = True
            reasons.append(f"{crit.reason} (p={p:.2f})")
    if tier == "urgent":
        reasons.append(f"image urgency urgent (score {case.score:.2f})")
    elif tier == "not_assessed":
        reasons.append("image not assessed by the model (failed the quality gate)")
    elif tier == "unanalysed":
        reasons.append("no image analysis yet")
    else:
        reasons.append(f"image urgency routine (score {case.score:.2f})")
    priority += rule.wait_points_per_hour * wait / 60.0
    overdue = wait >= rule.ageing_cap_minutes
    if overdue:
        reasons.insert(0, f"overdue: waiting {wait:.0f} min >= cap {rule.ageing_cap_minutes:.0f}")
    else:
        reasons.append(f"waiting {wait:.0f} min")
    return Ranked(case, priority, overdue, wait, tuple(reasons), critical)


def sort_key(r: Ranked, rule: WorklistRule) -> tuple[int, float, float, str]:
    # Critical studies (when the rule says so) by priority, then overdue ones longest
    # wait first, then the rest by priority; ties: the earlier arrival.
    if r.critical and rule.critical_before_overdue:
        return (0, -r.priority, r.case.arrived, r.case.key)
    if r.overdue:
        return (1, -r.wait_minutes, r.case.arrived, r.case.key)
    return (2, -r.priority, r.case.arrived, r.case.key)


def rank(cases: Iterable[Case], now: float, rule: WorklistRule | None = None) -> list[Ranked]:
    """Cases in reading order at ``now``."""
    rule = rule or default_rule()
    return sorted((assess(c, now, rule) for c in cases), key=lambda r: sort_key(r, rule))


def pick(cases: Sequence[Case], now: float, rule: WorklistRule) -> int:
    """The index of the case to read next (the simulation's hot path: no full sort)."""
    return min(range(len(cases)), key=lambda i: sort_key(assess(cases[i], now, rule), rule))


# ------------------------------------------------------------------ studies -> cases
def study_case(study: Study, epoch: datetime) -> Case:
    """A stored study as a case, its arrival in minutes after ``epoch``."""
    arrived = (parse_received(study.received) - epoch).total_seconds() / 60.0
    if study.urgency is None:
        return Case(study.study_uid, arrived, "unanalysed")
    return Case(
        study.study_uid,
        arrived,
        study.urgency.tier,
        study.urgency.score,
        positives_of(study.analysis or ()),
    )


def positives_of(analysis: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Positive finding (canonical name) -> highest probability over a study's images."""
    out: dict[str, float] = {}
    for image in analysis:
        for f in image.get("findings") or ():
            if not isinstance(f, Mapping) or not f.get("positive"):
                continue
            try:
                name, p = canonical_finding(str(f["name"])), float(f["probability"])
            except (KeyError, TypeError, ValueError):
                continue
            out[name] = max(p, out.get(name, 0.0))
    return out


@dataclass(frozen=True)
class WorklistEntry:
    position: int
    study: Study
    ranked: Ranked

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        return {
            "position": self.position,
            "study_uid": s.study_uid,
            "patient_id": s.patient_id,
            "accession": s.accession,
            "description": s.description,
            "modality": s.modality,
            "status": s.status.value,
            "received": s.received,
            "tier": self.ranked.case.tier,
            "priority": round(self.ranked.priority, 2),
            "overdue": self.ranked.overdue,
            "wait_minutes": round(self.ranked.wait_minutes, 1),
            "reasons": list(self.ranked.reasons),
        }


def worklist(
    studies: Sequence[Study], now: datetime, rule: WorklistRule | None = None
) -> list[WorklistEntry]:
    """The unread ``studies`` in reading order at ``now`` (a UTC datetime)."""
    rule = rule or default_rule()
    unread = {s.study_uid: s for s in studies if s.status.unread}
    ranked = rank((study_case(s, now) for s in unread.values()), 0.0, rule)
    return [WorklistEntry(i + 1, unread[r.case.key], r) for i, r in enumerate(ranked)]

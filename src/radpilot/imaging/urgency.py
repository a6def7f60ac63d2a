"""Worklist urgency from a model's findings; the rule is data (``imaging/data/urgency.json``).

score = max over findings of weight(finding) x probability; tier "urgent" when a
critical finding is positive at its operating point or score >= urgent_score, else
"routine". The reasons name the findings that decided it. A triage aid, not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from radpilot.errors import VocabularyError
from radpilot.imaging.rulefiles import check_rules, load_rules

_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "default_weight": (int, float),
    "urgent_score": (int, float),
    "critical": list,
    "weights": dict,
}


class UrgencyTier(StrEnum):
    URGENT = "urgent"
    ROUTINE = "routine"


@dataclass(frozen=True)
class UrgencyRule:
    weights: Mapping[str, float]
    default_weight: float
    urgent_score: float
    critical: frozenset[str]

    @classmethod
    def from_dict(cls, data: object, source: str = "urgency.json") -> UrgencyRule:
        body = check_rules(source, data, _SCHEMA)
        weights: dict[str, float] = {}
        for name, value in body["weights"].items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise VocabularyError(
                    f"imaging/data/{source}: weight of {name!r} must be a number >= 0"
                )
            weights[str(name)] = float(value)
        return cls(
            weights=weights,
            default_weight=float(body["default_weight"]),
            urgent_score=float(body["urgent_score"]),
            critical=frozenset(str(c) for c in body["critical"]),
        )

    def weight(self, finding: str) -> float:
        return self.weights.get(finding, self.default_weight)


@lru_cache(maxsize=1)
def default_rule() -> UrgencyRule:
    return UrgencyRule.from_dict(load_rules("urgency.json", _SCHEMA))


@dataclass(frozen=True)
class Urgency:
    tier: UrgencyTier
    score: float
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier.value,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
        }


def score_urgency(
    probabilities: Mapping[str, float],
    positives: Mapping[str, bool],
    rule: UrgencyRule | None = None,
) -> Urgency:
    """Apply the rule to one image's findings (probability and decision per finding)."""
    rule = rule or default_rule()
    if not probabilities:
        return Urgency(UrgencyTier.ROUTINE, 0.0, ("no findings scored",))
    weighted = {name: rule.weight(name) * float(p) for name, p in probabilities.items()}
    top = max(weighted, key=lambda n: weighted[n])
    score = weighted[top]
    reasons: list[str] = []
    critical = sorted(n for n in probabilities if n in rule.critical and positives.get(n, False))
    for name in critical:
        reasons.append(f"critical finding {name} positive (p={probabilities[name]:.2f})")
    if score >= rule.urgent_score:
        reasons.append(
            f"score {score:.2f} >= {rule.urgent_score:.2f} from {top} "
            f"(weight {rule.weight(top):.2f} x p {probabilities[top]:.2f})"
        )
    if reasons:
        return Urgency(UrgencyTier.URGENT, score, tuple(reasons))
    return Urgency(
        UrgencyTier.ROUTINE,
        score,
        (f"score {score:.2f} < {rule.urgent_score:.2f} (highest: {top}); no critical finding",),
    )

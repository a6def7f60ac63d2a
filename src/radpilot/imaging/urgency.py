"""Worklist urgency from a model's findings; the rule is data (``imaging/data/urgency.json``).

score = max over findings of weight(finding) x probability; tier "urgent" when a
critical finding is positive at its operating point or score >= urgent_score, else
"routine". The reasons name the findings that decided it. An image the gate blocked is
never scored: its tier is "not_assessed", with the flags that stopped it as the reason,
so a blank, noisy or rotated image can never be urgent on a model's say-so. A triage
aid, not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from radpilot.imaging.results import Flag, Urgency, UrgencyTier
from radpilot.imaging.rules import URGENCY, UrgencyRule


def default_rule() -> UrgencyRule:
    return URGENCY.load()


def not_assessed(flags: Sequence[Flag]) -> Urgency:
    """The urgency of an image the model did not read (it failed a blocking check)."""
    codes = ", ".join(f.code.value for f in flags if f.blocking) or "not read"
    return Urgency(
        UrgencyTier.NOT_ASSESSED,
        0.0,
        (f"not scored: the image failed the gate ({codes}); a radiologist must read it",),
    )


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
    critical = sorted(n for n in probabilities if rule.is_critical(n) and positives.get(n, False))
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

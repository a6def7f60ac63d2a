"""JSON forms of proposals and decisions, as the store keeps them and the page posts them.

Reading is strict: an unknown key or a value of the wrong type is a ``DatasetError`` that
names the field, so a damaged row or a forged form never becomes a silent default.
"""

from __future__ import annotations

import json
from typing import Any

from radpilot.datasets.models import (
    VALUES,
    Action,
    Box,
    DatasetError,
    Decision,
    Evidence,
    LabelValue,
    Proposal,
)


def value_from(obj: Any, where: str) -> LabelValue:
    if obj is None:
        return None
    if isinstance(obj, bool) or not isinstance(obj, int | float) or float(obj) not in VALUES:
        raise DatasetError(f"{where}: a label value is 1.0, 0.0, -1.0 or null")
    return float(obj)


def proposal_to_dict(p: Proposal) -> dict[str, Any]:
    return {
        "label": p.label,
        "value": p.value,
        "source": p.source,
        "evidence": [[e.start, e.end, e.certainty, e.finding] for e in p.evidence],
        "score": p.score,
        "threshold": p.threshold,
        "box": None if p.box is None else p.box.to_dict(),
        "hedged": p.hedged,
    }


_PROPOSAL_KEYS = {"label", "value", "source", "evidence", "score", "threshold", "box", "hedged"}


def proposal_from(obj: Any, where: str) -> Proposal:
    if not isinstance(obj, dict) or set(obj) != _PROPOSAL_KEYS:
        raise DatasetError(f"{where}: a proposal has exactly {sorted(_PROPOSAL_KEYS)}")
    ev = tuple(Evidence(int(a), int(b), str(c), str(f)) for a, b, c, f in obj["evidence"])
    box = None if obj["box"] is None else Box.from_dict(obj["box"], f"{where}.box")
    score = None if obj["score"] is None else float(obj["score"])
    thr = None if obj["threshold"] is None else float(obj["threshold"])
    return Proposal(
        str(obj["label"]),
        value_from(obj["value"], f"{where}.value"),
        str(obj["source"]),
        ev,
        score,
        thr,
        box,
        bool(obj["hedged"]),
    )


def proposals_json(proposals: tuple[Proposal, ...]) -> str:
    return json.dumps([proposal_to_dict(p) for p in proposals], separators=(",", ":"))


def proposals_from_json(text: str, where: str) -> tuple[Proposal, ...]:
    return tuple(proposal_from(o, f"{where}[{i}]") for i, o in enumerate(json.loads(text)))


def decision_to_dict(d: Decision) -> dict[str, Any]:
    return {
        "proposal": d.proposal,
        "action": d.action.value,
        "label": d.label,
        "value": d.value,
        "box": None if d.box is None else d.box.to_dict(),
    }


_DECISION_KEYS = {"proposal", "action", "label", "value", "box"}


def decision_from(obj: Any, where: str) -> Decision:
    if not isinstance(obj, dict) or not set(obj) <= _DECISION_KEYS or "action" not in obj:
        raise DatasetError(f"{where}: a decision has keys among {sorted(_DECISION_KEYS)}")
    try:
        action = Action(obj["action"])
    except ValueError:
        valid = ", ".join(a.value for a in Action)
        raise DatasetError(f"{where}.action: {obj['action']!r} is not one of {valid}") from None
    index = obj.get("proposal", -1)
    if isinstance(index, bool) or not isinstance(index, int):
        raise DatasetError(f"{where}.proposal: an integer index")
    label = obj.get("label")
    if not isinstance(label, str) or not label:
        raise DatasetError(f"{where}.label: a label name")
    box = obj.get("box")
    return Decision(
        index,
        action,
        label,
        value_from(obj.get("value"), f"{where}.value"),
        None if box is None else Box.from_dict(box, f"{where}.box"),
    )


def decisions_json(decisions: tuple[Decision, ...]) -> str:
    return json.dumps([decision_to_dict(d) for d in decisions], separators=(",", ":"))


def decisions_from_json(text: str, where: str) -> tuple[Decision, ...]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not JSON ({exc.msg}, position {exc.pos})") from None
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: a list of decisions")
    return tuple(decision_from(o, f"{where}[{i}]") for i, o in enumerate(raw))

"""Closing the loop: which follow-up recommendations of archived reports have no matching
later study of the same patient.

A recommendation of kind ``imaging`` in a report with a patient id and a study date is
due ``interval.max_days`` after that date (``intervals.default_due_days`` of
``followup_cues.json`` when the report states none). A later study of the same patient
(dated after the report, on or before the as-of date) closes it when its modality is one
of the recommendation's (``modality_codes``: CT -> CT; radiograph -> CR, DX, ...; any
modality for "unspecified") and its body part is one the recommendation names, or the
report's own where it names none (``body_part_codes``). A study with no modality or body
part recorded closes nothing that asks for one: a loop is never closed on a guess.
Comparison and clinical recommendations are not studies and are not tracked.

>>> from datetime import date
>>> due_date(date(2026, 1, 10), 90)
datetime.date(2026, 4, 10)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from radpilot.search.models import StoredReport
from radpilot.workflow.followup_rules import UNSPECIFIED, FollowupRules, followup_rules
from radpilot.workflow.followups import Recommendation, extract


class Status(StrEnum):
    OVERDUE = "overdue"  # due date passed, no matching study
    PENDING = "pending"  # not yet due, no matching study yet
    DONE = "done"  # a matching later study exists


@dataclass(frozen=True, slots=True)
class Study:
    report_id: str
    patient_id: str
    study_date: date
    modality: str | None
    body_part: str | None


@dataclass(frozen=True, slots=True)
class TrackedRecommendation:
    patient_id: str
    report_id: str
    study_date: date
    recommendation: Recommendation
    due: date
    status: Status
    closed_by: str | None  # the report id of the matching later study

    def days_overdue(self, as_of: date) -> int:
        return max(0, (as_of - self.due).days) if self.status is Status.OVERDUE else 0

    def as_dict(self, as_of: date) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "report_id": self.report_id,
            "study_date": self.study_date.isoformat(),
            "recommendation": self.recommendation.as_dict(),
            "due": self.due.isoformat(),
            "status": self.status.value,
            "days_overdue": self.days_overdue(as_of),
            "closed_by": self.closed_by,
        }


@dataclass(frozen=True, slots=True)
class TrackingResult:
    items: tuple[TrackedRecommendation, ...]
    reports: int  # reports read
    untracked: int  # reports with recommendations but no patient id or study date


def due_date(study_date: date, days: int) -> date:
    return study_date + timedelta(days=days)


def _study(r: StoredReport) -> Study | None:
    if not r.patient_id or not r.study_date:
        return None
    try:
        when = date.fromisoformat(r.study_date)
    except ValueError:
        return None
    return Study(r.id, r.patient_id, when, r.modality, r.body_part)


def matches(
    rec: Recommendation, origin: Study, later: Study, rules: FollowupRules | None = None
) -> bool:
    """Whether ``later`` is the study ``rec`` (made on ``origin``) asked for."""
    rules = rules or followup_rules()
    if rec.modality != UNSPECIFIED:
        codes = rules.modality_codes.get(rec.modality, frozenset())
        if later.modality is None or later.modality.strip().upper() not in codes:
            return False
    wanted = set(rec.body_parts)
    if not wanted:
        if origin.body_part is None:
            return True
        wanted = {origin.body_part.strip().upper()}
    if later.body_part is None:
        return False
    got = later.body_part.strip().upper()
    return any(got == part or got in rules.body_part_codes.get(part, ()) for part in wanted)


def track(
    reports: Iterable[StoredReport], *, as_of: date, rules: FollowupRules | None = None
) -> TrackingResult:
    """Every imaging recommendation of ``reports`` with its due date and status."""
    rules = rules or followup_rules()
    default_days = rules.grammar.default_due_days
    studies: dict[str, list[Study]] = defaultdict(list)
    pending: list[tuple[Study, Recommendation]] = []
    count = untracked = 0
    for report in reports:
        count += 1
        study = _study(report)
        if study is not None:
            studies[study.patient_id].append(study)
        recs = [r for r in extract(report.text).recommendations if r.kind == "imaging"]
        if recs and study is None:
            untracked += 1
            continue
        pending.extend((study, r) for r in recs if study is not None)
    items = []
    for origin, rec in pending:
        days = rec.interval.max_days if rec.interval and rec.interval.max_days else default_days
        due = due_date(origin.study_date, days)
        later = sorted(
            (
                s
                for s in studies[origin.patient_id]
                if origin.study_date < s.study_date <= as_of and matches(rec, origin, s, rules)
            ),
            key=lambda s: s.study_date,
        )
        if later:
            status, closed = Status.DONE, later[0].report_id
        else:
            status, closed = (Status.OVERDUE if as_of > due else Status.PENDING), None
        items.append(
            TrackedRecommendation(
                origin.patient_id, origin.report_id, origin.study_date, rec, due, status, closed
            )
        )
    items.sort(key=lambda t: (t.due, t.patient_id, t.report_id, t.recommendation.start))
    return TrackingResult(tuple(items), count, untracked)

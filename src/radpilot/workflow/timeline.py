"""A patient's findings over time, from the archived reports and the studies' image analyses.

Every report of the patient in the archive (``radpilot archive add``) contributes its
stated findings: a finding's status in a report is the strongest of its mentions
(``radpilot.search.analysis.mention_status``: present > uncertain > absent; indication,
history and hypothetical mentions, and an anatomy said only to be unchanged ("heart size
is stable"), state nothing and are left out), with the reader's
laterality and change (new, worse, better, stable, resolved). Every analysed study of the
patient in the studies store contributes the image model's decision on each finding it
scored (positive: present; negative: absent), named by the report vocabulary's id where
one matches the label ("Pleural Effusion" -> ``pleural_effusion``). Per finding: first
seen (first present or uncertain), last seen, the changes the reports state, resolved (a
report says it is absent or resolved, or the model is negative, after it was last seen,
and nothing has shown it since; ``resolved_by`` names which), and its current status.

Dates are the reports' and studies' study dates (``YYYY-MM-DD``); a report without one
cannot be placed and is counted, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from radpilot.errors import InputError
from radpilot.interop.records import FieldError, normalise_date
from radpilot.search.analysis import FindingStatus
from radpilot.search.models import CandidateQuery, Filters, StoredMention

if TYPE_CHECKING:
    from radpilot.search.store import ArchiveStore
    from radpilot.workflow.studies import Study, StudyStore

_RANK = {"present": 3, "uncertain": 2, "absent": 1}
_SEEN = ("present", "uncertain")
MAX_REPORTS = 100_000


@dataclass(frozen=True)
class Observation:
    """One source's word on one finding on one date."""

    date: str
    finding: str
    status: str  # present | uncertain | absent
    source: str  # "report" | "image"
    source_id: str  # report id, or study UID
    change: str | None = None
    laterality: str | None = None
    probability: float | None = None  # image findings

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.date,
            "status": self.status,
            "source": self.source,
            "source_id": self.source_id,
            "change": self.change,
            "laterality": self.laterality,
            "probability": None if self.probability is None else round(self.probability, 4),
        }


@dataclass(frozen=True)
class FindingHistory:
    finding: str
    observations: tuple[Observation, ...]  # date order
    first_seen: str | None
    last_seen: str | None
    resolved: str | None  # date of the first word that it is gone, when nothing since
    current: str  # the latest status: present | uncertain | absent | resolved
    resolved_by: str | None = None  # the report id or study UID that said so

    @property
    def laterality(self) -> str | None:
        sides = sorted({o.laterality for o in self.observations if o.laterality})
        return "/".join(sides) or None

    @property
    def changes(self) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if o.change)

    def to_dict(self) -> dict[str, object]:
        return {
            "finding": self.finding,
            "laterality": self.laterality,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "resolved": self.resolved,
            "resolved_by": self.resolved_by,
            "current": self.current,
            "changes": [
                {"date": o.date, "change": o.change, "source_id": o.source_id} for o in self.changes
            ],
            "observations": [o.to_dict() for o in self.observations],
        }


@dataclass(frozen=True)
class Timeline:
    patient: str
    dates: tuple[str, ...]
    sources: tuple[tuple[str, str, str], ...]  # (date, kind, id), date order
    findings: tuple[FindingHistory, ...]  # first seen first
    undated: int = 0  # reports of the patient without a study date (not placed)

    def to_dict(self) -> dict[str, object]:
        return {
            "patient": self.patient,
            "dates": list(self.dates),
            "sources": [{"date": d, "kind": k, "id": i} for d, k, i in self.sources],
            "findings": [f.to_dict() for f in self.findings],
            "undated_reports": self.undated,
        }


def report_observations(
    report_id: str, date: str, mentions: Iterable[StoredMention]
) -> list[Observation]:
    """One observation per finding of a report: its strongest stated status, with the
    laterality and change of the mentions that have that status."""
    best: dict[str, list[StoredMention]] = {}
    for m in mentions:
        if m.status == FindingStatus.CONTEXT.value or m.status not in _RANK:
            continue
        held = best.get(m.finding)
        if held is None or _RANK[m.status] > _RANK[held[0].status]:
            best[m.finding] = [m]
        elif _RANK[m.status] == _RANK[held[0].status]:
            held.append(m)
    out = []
    for finding, ms in best.items():
        changes = [m.change for m in ms if m.change]
        lats = sorted({m.laterality for m in ms if m.laterality})
        out.append(
            Observation(
                date,
                finding,
                ms[0].status,
                "report",
                report_id,
                change=changes[0] if changes else None,
                laterality="/".join(lats) or None,
            )
        )
    return out


def finding_key(label: str) -> str:
    """An image model's label as the report vocabulary's id ("Pleural Effusion" ->
    "pleural_effusion"), so a finding seen in images and reports is one row."""
    return label.strip().lower().replace(" ", "_").replace("-", "_")


def image_observations(study: Study) -> list[Observation]:
    """The image model's word on each finding it scored in an analysed study: present
    when any image of the study is positive (its highest probability), else absent (an
    image the gate stopped scored nothing and says nothing)."""
    date = _date(study.study_date) or _date(study.received[:10])
    if date is None or not study.analysis:
        return []
    best: dict[str, tuple[bool, float]] = {}
    for image in study.analysis:
        for f in image.get("findings") or ():
            try:
                key = finding_key(str(f["name"]))
                seen = (bool(f.get("positive")), float(f["probability"]))
            except (AttributeError, KeyError, TypeError, ValueError):
                continue
            best[key] = max(seen, best.get(key, seen))
    return [
        Observation(
            date, k, "present" if pos else "absent", "image", study.study_uid, probability=p
        )
        for k, (pos, p) in best.items()
    ]


def _date(value: str | None) -> str | None:
    try:
        return normalise_date(value)
    except FieldError:
        return None


def history(finding: str, observations: Sequence[Observation]) -> FindingHistory:
    """First seen, last seen, resolved and current status from a finding's observations."""
    obs = tuple(sorted(observations, key=lambda o: (o.date, o.source, o.source_id)))
    seen = [o for o in obs if o.status in _SEEN]
    if not seen:
        return FindingHistory(finding, obs, None, None, None, "absent")
    last = seen[-1].date
    # absent (or resolved: the reader states a resolved finding absent) after last seen
    gone = [o for o in obs if o.date > last and o.status == "absent"]
    if not gone:
        return FindingHistory(finding, obs, seen[0].date, last, None, seen[-1].status)
    first_gone = gone[0]
    return FindingHistory(
        finding, obs, seen[0].date, last, first_gone.date, "resolved", first_gone.source_id
    )


def build_timeline(
    patient: str,
    archive: ArchiveStore | None,
    studies: StudyStore | None,
    *,
    negatives: bool = False,
) -> Timeline:
    """The patient's timeline from the archive's reports and the studies' analyses;
    findings never seen (only pertinent negatives) are left out unless ``negatives``.
    ``InputError`` when neither store holds anything of the patient."""
    patient = patient.strip()
    if not patient:
        raise InputError("patient: empty; name the patient id")
    observations: list[Observation] = []
    sources: list[tuple[str, str, str]] = []
    undated = 0
    if archive is not None:
        q = CandidateQuery(filters=Filters(patient=patient), limit=MAX_REPORTS)
        rowids = [rid for rid, _ in archive.candidates(q)]
        reports = archive.reports(rowids)
        mentions = archive.mentions(rowids)
        for rid, report in reports.items():
            date = _date(report.study_date)
            if date is None:
                undated += 1
                continue
            sources.append((date, "report", report.id))
            observations += report_observations(report.id, date, mentions.get(rid, ()))
    if studies is not None:
        from radpilot.workflow.studies import StudyFilter

        for study in studies.list(StudyFilter(patient_id=patient)):
            date = _date(study.study_date) or _date(study.received[:10])
            seen = image_observations(study)  # [] without a date or a scored image
            if date is not None and seen:  # an image the gate stopped is no analysed study
                sources.append((date, "image", study.study_uid))
                observations += seen
    if not sources and not undated:
        raise InputError(f"patient {patient}: no reports or analysed studies of this patient")
    by_finding: dict[str, list[Observation]] = {}
    for o in observations:
        by_finding.setdefault(o.finding, []).append(o)
    histories = [history(f, obs) for f, obs in by_finding.items()]
    if not negatives:
        histories = [h for h in histories if h.first_seen is not None]
    histories.sort(key=lambda h: (h.first_seen is None, h.first_seen or "", h.finding))
    sources.sort()
    dates = tuple(sorted({d for d, _, _ in sources}))
    return Timeline(patient, dates, tuple(sources), tuple(histories), undated)

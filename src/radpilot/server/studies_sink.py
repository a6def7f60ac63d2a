"""The DICOM receiver's study sink for ``radpilot serve --dicom-port``: a received
instance puts its study on the studies store (``workflow.studies``, the worklist's), an
analysed one attaches its result.

A study of several images keeps one analysis entry per SOP instance (a re-analysed
instance replaces its own entry), and the study's urgency is its most urgent image's
(``urgent`` before ``routine`` before ``not_assessed``, then the higher score), with the
reasons of every image at that tier. Each call opens the store for its one write: the
receiver's thread is not the request threads, and SQLite serialises the writers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radpilot.server.dicom_scp import ReceivedInstance
    from radpilot.workflow.studies import StudyUrgency

log = logging.getLogger(__name__)

_TIER_RANK = {"urgent": 2, "routine": 1, "not_assessed": 0}


def study_urgency(analysis: Sequence[Mapping[str, Any]]) -> StudyUrgency | None:
    """The study's urgency from its images' ``urgency`` objects (None when none has one)."""
    from radpilot.workflow.studies import StudyUrgency

    urgencies = [a["urgency"] for a in analysis if isinstance(a.get("urgency"), Mapping)]
    if not urgencies:
        return None
    top = max(
        urgencies,
        key=lambda u: (_TIER_RANK.get(str(u.get("tier")), -1), float(u.get("score") or 0.0)),
    )
    tier = str(top.get("tier"))
    reasons: list[str] = []
    for u in urgencies:
        if u.get("tier") == tier:
            reasons += [r for r in u.get("reasons") or () if r not in reasons]
    return StudyUrgency(tier, float(top.get("score") or 0.0), tuple(reasons))


class StudiesSink:
    """``dicom_scp.StudySink`` onto the studies store in the archive file at ``location``."""

    def __init__(self, location: str) -> None:
        self.location = location

    def received(self, instance: ReceivedInstance) -> None:
        from radpilot.workflow.studies import StudyRecord, open_studies

        if not instance.study_uid:
            log.warning("a received instance has no study UID; not put on the worklist")
            return
        store = open_studies(self.location)
        try:
            store.upsert(
                StudyRecord(
                    instance.study_uid,
                    patient_id=instance.patient_id,
                    accession=instance.accession,
                    description=instance.description,
                    modality=instance.modality,
                    study_date=instance.study_date,
                )
            )
        finally:
            store.close()

    def analysed(self, instance: ReceivedInstance, result: dict[str, Any]) -> None:
        from radpilot.workflow.studies import open_studies

        if not instance.study_uid:
            return
        store = open_studies(self.location)
        try:
            study = store.get(instance.study_uid)
            if study is None:  # the received() call failed earlier: add it now
                self.received(instance)
                study = store.get(instance.study_uid)
            previous = study.analysis if study is not None and study.analysis else ()
            kept = [
                dict(a) for a in previous if a.get("sop_instance_uid") != instance.sop_instance_uid
            ]
            entry = {k: v for k, v in result.items() if k != "path"}
            entry["sop_instance_uid"] = instance.sop_instance_uid
            analysis = [*kept, entry]
            store.attach_analysis(instance.study_uid, analysis, study_urgency(analysis))
        finally:
            store.close()

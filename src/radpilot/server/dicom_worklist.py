"""The SCP's study sink for the worklist: received studies go into the studies store
(``radpilot.workflow.studies``) as ``received``, and each analysed instance joins its
study's analysis, which re-scores the study's urgency (``workflow.intake``).

Each call opens the store and closes it again, so the pynetdicom association threads and
the analysis thread never share a SQLite connection; SQLite's lock orders the writes. A
store that refuses a write is logged; the instance itself is already stored and is put on
the worklist again when it is analysed (or re-analysed after a restart).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radpilot.errors import RadpilotError
from radpilot.server.dicom_scp import ReceivedInstance
from radpilot.workflow.intake import parse_analysis
from radpilot.workflow.studies import StudyRecord, StudyStore, open_studies

log = logging.getLogger(__name__)


class WorklistSink:
    """``ScpConfig(sink=WorklistSink(db))``: the studies store at ``db`` (default: the
    archive's default file)."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.db = db
        self._lock = threading.Lock()  # one read-modify-write of a study's analysis at a time

    @contextmanager
    def _store(self) -> Iterator[StudyStore]:
        store = open_studies(self.db)
        try:
            yield store
        finally:
            store.close()

    def _record(self, instance: ReceivedInstance) -> StudyRecord:
        assert instance.study_uid is not None
        return StudyRecord(
            instance.study_uid,
            patient_id=instance.patient_id,
            accession=instance.accession,
            description=instance.description,
            modality=instance.modality,
            study_date=instance.study_date,
        )

    def received(self, instance: ReceivedInstance) -> None:
        if not instance.study_uid:
            log.warning("a received instance has no StudyInstanceUID; not on the worklist")
            return
        try:
            with self._lock, self._store() as store:
                store.upsert(self._record(instance))
        except RadpilotError as exc:
            log.error("worklist: %s", exc)

    def analysed(self, instance: ReceivedInstance, result: dict[str, Any]) -> None:
        if not instance.study_uid:
            return
        image = dict(result)
        meta = dict(image.get("metadata") or {})
        meta.setdefault("study_uid", instance.study_uid)
        meta["study_uid"] = meta.get("study_uid") or instance.study_uid
        image["metadata"] = meta
        try:
            with self._lock, self._store() as store:
                study = store.get(instance.study_uid)
                if study is None:
                    store.upsert(self._record(instance))
                    earlier: tuple[Any, ...] = ()
                else:
                    earlier = study.analysis or ()
                sop = instance.sop_instance_uid
                images = [dict(a) for a in earlier if a.get("sop_instance_uid") != sop]
                (intake,) = parse_analysis([*images, image], "DICOM receiver").intakes
                store.attach_analysis(instance.study_uid, intake.analysis, intake.urgency)
        except RadpilotError as exc:
            log.error("worklist: %s", exc)

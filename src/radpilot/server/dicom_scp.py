"""radpilot's DICOM Storage SCP: C-ECHO and C-STORE in, analysis and a DICOM SR out.

``start_scp(ScpConfig(...))`` listens (pynetdicom, AE title ``RADPILOT`` by default) and
returns a handle with ``stop()``. It accepts Verification and the Storage SOP classes
radpilot reads (CR, DX for presentation and for processing, Secondary Capture), in every
transfer syntax pynetdicom knows (JPEG, JPEG-LS, JPEG 2000, RLE as stored: the bytes are
kept as received, never recompressed); any other SOP class is refused at association.

On C-STORE the instance is written durably (``server.dicom_store``: temporary file,
fsync, rename, folder fsync) *before* success is answered, so an acknowledged instance
survives kill -9; a re-sent instance is answered success and not stored twice. It is then
queued for the one analysis thread, which loads the image model once, runs
``radpilot.imaging.analyze`` on it, writes the result and the DICOM SR
(``interop.dicom_sr``) beside it, tells the study sink (the worklist) and, when a PACS is
configured, sends the SR there (C-STORE SCU). At start the queue is refilled with every
stored instance that has no result, and every SR not yet accepted by the PACS is resent:
nothing acknowledged is lost by a restart.

Logs name the calling AE title and counts, never a patient's identifiers or UIDs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from radpilot.errors import InputError, RadpilotError
from radpilot.server.dicom_store import InstanceStore, valid_uid

log = logging.getLogger(__name__)

DEFAULT_AE_TITLE = "RADPILOT"
DEFAULT_PORT = 11112
# CR, DX for presentation, DX for processing, Secondary Capture.
STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",
    "1.2.840.10008.5.1.4.1.1.1.1",
    "1.2.840.10008.5.1.4.1.1.1.1.1",
    "1.2.840.10008.5.1.4.1.1.7",
)
VERIFICATION = "1.2.840.10008.1.1"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"

_SEND = "send:"  # a queue item: resend this instance's SR (never a UID: UIDs are digits)

# C-STORE statuses (PS3.4 B.2.3)
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000


@dataclass(frozen=True)
class Peer:
    """A remote DICOM node: host, port and its AE title."""

    host: str
    port: int
    ae_title: str

    @classmethod
    def parse(cls, text: str) -> Peer:
        """``HOST:PORT[:AETITLE]`` (the AE title defaults to ``PACS``).

        >>> Peer.parse("127.0.0.1:4242:ORTHANC")
        Peer(host='127.0.0.1', port=4242, ae_title='ORTHANC')
        """
        parts = text.rsplit(":", 2) if text.count(":") >= 2 else text.rsplit(":", 1)
        if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
            raise InputError(f"{text!r}: give the peer as HOST:PORT[:AETITLE]")
        title = parts[2] if len(parts) == 3 else "PACS"
        check_ae_title(title)
        port = int(parts[1])
        if not 0 < port < 65536:
            raise InputError(f"{text!r}: port must be 1..65535")
        return cls(parts[0], port, title)


def check_ae_title(title: str) -> str:
    """An AE title is 1-16 printable ASCII characters, no backslash (PS3.5 6.2)."""
    if (
        not 0 < len(title.strip()) <= 16
        or not all(32 <= ord(c) < 127 for c in title)
        or "\\" in title
    ):
        raise InputError(f"AE title {title!r}: use 1-16 printable ASCII characters, no backslash")
    return title


@dataclass(frozen=True)
class ReceivedInstance:
    """One stored instance, as the study sink sees it (header values only)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str | None
    patient_id: str | None
    accession: str | None
    modality: str | None
    study_date: str | None
    description: str | None
    path: Path


class StudySink(Protocol):
    """Where received and analysed studies go (the worklist's studies store)."""

    def received(self, instance: ReceivedInstance) -> None: ...

    def analysed(self, instance: ReceivedInstance, result: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ScpConfig:
    """What ``start_scp`` needs. ``port=0`` takes a free port (see ``ScpHandle.port``)."""

    store_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ae_title: str = DEFAULT_AE_TITLE
    analyze: bool = True
    model: str | None = None
    pacs: Peer | None = None
    sink: StudySink | None = None
    max_pdu: int = 16382
    # A peer that connects and sends half an association request holds one of
    # ``max_associations`` slots until the ACSE (ARTIM) timeout; an idle association until
    # the network timeout. Short enough that garbage cannot lock modalities out for long.
    max_associations: int = 20
    acse_timeout: float = 10.0
    network_timeout: float = 60.0
    analysis_batch: int = 8  # queued instances analysed in one pipeline call
    # Only associations addressed to our AE title (a misrouted modality is refused).
    require_called_aet: bool = True


def _header(path: Path) -> ReceivedInstance:
    import pydicom

    from radpilot.imaging.dicomio import quiet_pydicom

    with quiet_pydicom():
        ds = pydicom.dcmread(path, stop_before_pixels=True)

    def text(keyword: str) -> str | None:
        value = str(ds.get(keyword, "") or "").strip()
        return value or None

    return ReceivedInstance(
        sop_instance_uid=path.stem,
        sop_class_uid=text("SOPClassUID") or "",
        study_uid=text("StudyInstanceUID"),
        patient_id=text("PatientID"),
        accession=text("AccessionNumber"),
        modality=text("Modality"),
        study_date=text("StudyDate"),
        description=text("StudyDescription"),
        path=path,
    )


class _SrWriter:
    """The analysis pipeline's outputs writer: each instance's SR, written atomically."""

    renders = False

    def __init__(self, store: InstanceStore) -> None:
        self.store = store

    def write_image(self, analysis: Any) -> Any:
        from radpilot.imaging.dicomio import quiet_pydicom
        from radpilot.interop.dicom_sr import build_sr

        result = analysis.result
        image = analysis.image
        if not result.analysed or image is None or image.dataset is None:
            return result
        try:
            with quiet_pydicom():
                sr = build_sr(result, image.dataset)
                buf = BytesIO()
                sr.save_as(buf, enforce_file_format=True)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # The findings stand without their SR; the source header is what is wrong.
            why = f"no DICOM SR: {type(exc).__name__}"
            return replace(result, warnings=(*result.warnings, why))
        path = self.store.sr_path(Path(result.path).stem)  # instances/<uid>.dcm
        self.store.write_atomic(path, buf.getvalue())
        return replace(result, outputs={**result.outputs, "sr": str(path)})

    def finish(self, results: Any) -> None:
        return None


def send_instances(peer: Peer, paths: list[Path], *, calling: str = DEFAULT_AE_TITLE) -> list[int]:
    """C-STORE each file to ``peer`` on one association; the status of each (0 = success,
    -1 = not sent). Raises ``InputError`` when the association is refused."""
    import pydicom
    from pynetdicom import AE

    from radpilot.imaging.dicomio import quiet_pydicom

    with quiet_pydicom():
        datasets = [pydicom.dcmread(p) for p in paths]
    ae = AE(ae_title=calling)
    for uid, ts in sorted(
        {(str(d.SOPClassUID), str(d.file_meta.TransferSyntaxUID)) for d in datasets}
    ):
        ae.add_requested_context(uid, [ts])
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title)
    if not assoc.is_established:
        raise InputError(
            f"{peer.host}:{peer.port} ({peer.ae_title}): association refused or unreachable"
        )
    statuses = []
    try:
        for ds in datasets:
            try:
                status = assoc.send_c_store(ds)
            except (ValueError, RuntimeError):  # no accepted context for it, or aborted
                statuses.append(-1)
                continue
            statuses.append(int(status.Status) if "Status" in status else -1)
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses


def _is_analysis(item: str | None) -> bool:
    return item is not None and not item.startswith(_SEND)


def _not_analysed(path: Path, error: str | None) -> dict[str, Any]:
    return {"path": str(path), "analysed": False, "error": error, "findings": []}


class _Analyser:
    """The one background thread: analysis, SR, sink, PACS, for the instances queued (in
    batches of up to ``analysis_batch``) and the SRs to resend."""

    def __init__(self, config: ScpConfig, store: InstanceStore) -> None:
        self.config = config
        self.store = store
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.model: Any = None
        self.done = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="radpilot-scp-analysis", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                self._handle(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()
            if None in batch:
                return

    def _take(self) -> list[str | None]:
        """The next item, and the analyses already waiting behind it (up to
        ``ScpConfig.analysis_batch``): one model call and one pixel decoder for all of them."""
        batch = [self.queue.get()]
        while len(batch) < self.config.analysis_batch and _is_analysis(batch[-1]):
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _handle(self, batch: list[str | None]) -> None:
        uids = [u for u in batch if u is not None and _is_analysis(u)]
        if uids:
            try:
                self._many(uids)
            except Exception:  # find the instance that breaks it: one by one
                log.exception("a batch of received instances failed; retrying one by one")
                for uid in uids:
                    if self.store.result(uid) is not None:
                        continue
                    try:
                        self._many([uid])
                    except Exception as exc:  # one instance must never end the thread
                        self.failed += 1
                        log.exception("analysis of one received instance failed")
                        self._record_failure(uid, exc)
        for item in batch:
            if item is not None and item.startswith(_SEND):
                self.send_sr(item.removeprefix(_SEND))

    def _many(self, uids: list[str]) -> None:
        paths = {uid: self.store.instance_path(uid) for uid in uids}
        if self.config.analyze:
            results = self._analyse(paths)
        else:
            results = {u: _not_analysed(p, None) for u, p in paths.items()}
        for uid, path in paths.items():
            result = results[uid]
            result["sop_instance_uid"] = uid
            self.store.put_result(uid, result)
            self.done += 1
            if self.config.sink is not None and self.config.analyze:
                self.config.sink.analysed(_header(path), result)
            self.send_sr(uid)

    def _record_failure(self, uid: str, exc: Exception) -> None:
        """A result that says analysis failed, so a restart does not retry it forever
        (the instance itself stays stored)."""
        try:
            path = self.store.instance_path(uid)
            self.store.put_result(
                uid, _not_analysed(path, f"analysis failed: {type(exc).__name__}")
            )
        except OSError:
            log.exception("cannot record a failed analysis")

    def _analyse(self, paths: dict[str, Path]) -> dict[str, dict[str, Any]]:
        from radpilot.imaging.analyze import analyze, resolve_model

        if self.model is None:
            self.model = resolve_model(self.config.model)  # once, on the first instance
        try:
            results = analyze(list(paths.values()), model=self.model, writer=_SrWriter(self.store))
        except RadpilotError as exc:
            return {u: _not_analysed(p, str(exc)) for u, p in paths.items()}
        out = {Path(r.path).stem: r.to_dict() for r in results if Path(r.path).stem in paths}
        for uid, path in paths.items():  # a file the pipeline did not take as an image
            out.setdefault(uid, _not_analysed(path, f"{path}: not read as an image"))
        return out

    def send_sr(self, uid: str) -> None:
        pacs = self.config.pacs
        sr = self.store.sr_path(uid)
        if pacs is None or not sr.exists():
            return
        try:
            statuses = send_instances(pacs, [sr], calling=self.config.ae_title)
        except (InputError, OSError) as exc:
            log.warning("SR not sent to the PACS (kept, resent at restart): %s", exc)
            return
        if statuses == [SUCCESS]:
            self.store.mark_sent(uid)
        else:
            log.warning("the PACS answered status 0x%04X to an SR (kept)", statuses[0] & 0xFFFF)


@dataclass
class ScpHandle:
    """A running SCP: ``port`` (the one bound), ``store``, ``stop()``, ``wait_idle()``."""

    config: ScpConfig
    store: InstanceStore
    port: int
    _server: Any = field(repr=False)
    _analyser: _Analyser = field(repr=False)
    stored: int = 0
    duplicates: int = 0
    refused: int = 0

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until the analysis queue is empty (True) or ``timeout`` passes (False)."""
        done = threading.Event()

        def join() -> None:
            self._analyser.queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    @property
    def associations(self) -> int:
        """Associations open now (a peer holding one counts until it ends or times out)."""
        return len(self._server.active_associations)

    @property
    def analysed(self) -> int:
        return self._analyser.done

    def stop(self) -> None:
        """Stop listening (open associations are aborted), then let the analysis thread
        finish the instance it is on; queued ones are picked up again at the next start."""
        self._server.shutdown()
        q = self._analyser.queue
        while True:  # what is still queued is on disk and re-queued at restart
            try:
                q.get_nowait()
                q.task_done()
            except queue.Empty:
                break
        self._analyser.stop(timeout=120)


def _store_handler(
    handle_ref: list[ScpHandle], store: InstanceStore, enqueue: Callable[[str], None]
) -> Callable[[Any], int]:
    def on_store(event: Any) -> int:
        handle = handle_ref[0] if handle_ref else None
        status = _store_one(event, store, enqueue, handle)
        if handle is not None and status not in (SUCCESS,):
            handle.refused += 1
        return status

    return on_store


def _store_one(
    event: Any, store: InstanceStore, enqueue: Callable[[str], None], handle: ScpHandle | None
) -> int:
    request = event.request
    uid = str(request.AffectedSOPInstanceUID or "")
    if not valid_uid(uid):
        log.warning("C-STORE from %s refused: not a valid SOP Instance UID", _calling(event))
        return CANNOT_UNDERSTAND
    try:
        ds = event.dataset
        same = str(ds.SOPInstanceUID) == uid and str(ds.SOPClassUID) == str(
            request.AffectedSOPClassUID
        )
    except Exception:  # pydicom may fail anywhere in a malformed dataset
        log.warning("C-STORE from %s refused: the dataset cannot be decoded", _calling(event))
        return CANNOT_UNDERSTAND
    if not same:
        log.warning(
            "C-STORE from %s refused: dataset UIDs differ from the request's", _calling(event)
        )
        return DOES_NOT_MATCH
    try:
        data = event.encoded_dataset(include_meta=True)
        new = store.put_instance(uid, data)
    except OSError as exc:
        log.error("C-STORE from %s not stored: %s", _calling(event), exc.strerror or exc)
        return OUT_OF_RESOURCES
    if handle is not None:
        handle.stored += int(new)
        handle.duplicates += int(not new)
    if new:
        enqueue(uid)
    return SUCCESS


def _calling(event: Any) -> str:
    try:
        return str(event.assoc.requestor.ae_title).strip() or "?"
    except Exception:
        return "?"


def _enqueue(
    store: InstanceStore, analyser: _Analyser, sink: StudySink | None
) -> Callable[[str], None]:
    def put(uid: str) -> None:
        if sink is not None:
            try:
                sink.received(_header(store.instance_path(uid)))
            except Exception:  # the instance is stored; the worklist gets it at analysis
                log.exception("the study sink refused a received instance")
        analyser.queue.put(uid)

    return put


def start_scp(config: ScpConfig) -> ScpHandle:
    """Listen on ``config.host:config.port``; returns at once with a running handle."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

    check_ae_title(config.ae_title)
    store = InstanceStore.open(config.store_dir)
    analyser = _Analyser(config, store)
    ae = AE(ae_title=config.ae_title)
    ae.maximum_pdu_size = config.max_pdu
    ae.require_called_aet = config.require_called_aet
    ae.maximum_associations = config.max_associations
    ae.acse_timeout = config.acse_timeout
    ae.network_timeout = config.network_timeout
    ae.add_supported_context(VERIFICATION)
    for uid in STORAGE_CLASSES:
        ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
    ref: list[ScpHandle] = []
    enqueue = _enqueue(store, analyser, config.sink)
    handlers = [(evt.EVT_C_STORE, _store_handler(ref, store, enqueue))]
    try:
        server = ae.start_server((config.host, config.port), block=False, evt_handlers=handlers)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None
    handle = ScpHandle(config, store, int(server.server_address[1]), server, analyser)
    ref.append(handle)
    pending = store.unanalysed()
    for uid in pending:
        analyser.queue.put(uid)
    analyser.start()
    if config.pacs is not None:
        for uid in store.unsent():  # analysed before a restart, SR not yet accepted
            analyser.queue.put(_SEND + uid)
    if pending:
        log.info("re-queued %d stored instance(s) not yet analysed", len(pending))
    return handle

"""The Storage SCP on loopback: pynetdicom's SCU and dcmtk's echoscu/storescu, refused
SOP classes and AE titles, duplicates, durability, restart and the SR sent to a PACS."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pynetdicom import AE, evt
from typer.testing import CliRunner

from dicom_cases import CR, CT, DX, radiograph, save
from radpilot import samples
from radpilot.errors import InputError
from radpilot.server.dicom_scp import (
    COMPREHENSIVE_3D_SR,
    VERIFICATION,
    Peer,
    ReceivedInstance,
    ScpConfig,
    ScpHandle,
    start_scp,
)
from radpilot.server.dicom_store import InstanceStore

EXPLICIT = "1.2.840.10008.1.2.1"
RLE = "1.2.840.10008.1.2.5"


class Pacs:
    """A second SCP on loopback playing the PACS: it keeps every SR it is sent."""

    def __init__(self) -> None:
        self.datasets: list[Any] = []
        ae = AE(ae_title="PACS")
        ae.add_supported_context(COMPREHENSIVE_3D_SR)
        ae.add_supported_context(VERIFICATION)
        self.server = ae.start_server(
            ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, self._store)]
        )
        self.port = int(self.server.server_address[1])

    def _store(self, event: Any) -> int:
        self.datasets.append(event.dataset)
        return 0

    def stop(self) -> None:
        self.server.shutdown()


class RecordingSink:
    def __init__(self) -> None:
        self.got: list[ReceivedInstance] = []
        self.results: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def received(self, instance: ReceivedInstance) -> None:
        with self.lock:
            self.got.append(instance)

    def analysed(self, instance: ReceivedInstance, result: dict[str, Any]) -> None:
        with self.lock:
            self.results.append(result)


@pytest.fixture(scope="module")
def pacs() -> Iterator[Pacs]:
    p = Pacs()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture(scope="module")
def scp(
    tmp_path_factory: pytest.TempPathFactory, pacs: Pacs, sink: RecordingSink
) -> Iterator[ScpHandle]:
    config = ScpConfig(
        store_dir=tmp_path_factory.mktemp("scp"),
        port=0,
        pacs=Peer("127.0.0.1", pacs.port, "PACS"),
        sink=sink,
    )
    handle = start_scp(config)
    yield handle
    handle.stop()


def _assoc(port: int, *contexts: tuple[str, str], called: str = "RADPILOT") -> Any:
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(VERIFICATION)
    for uid, ts in contexts:
        ae.add_requested_context(uid, [ts])
    return ae.associate("127.0.0.1", port, ae_title=called)


def test_echo_and_store_cr_dx_and_rle(scp: ScpHandle, pacs: Pacs, sink: RecordingSink) -> None:
    sent = [radiograph(sop_class=CR), radiograph(sop_class=DX, seed=2), radiograph(rle=True)]
    assoc = _assoc(scp.port, (CR, EXPLICIT), (DX, EXPLICIT), (CR, RLE))
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    for ds in sent:
        assert assoc.send_c_store(ds).Status == 0
        # success is answered only once the file is on disk
        assert scp.store.has(str(ds.SOPInstanceUID))
    assoc.release()
    assert scp.wait_idle(180)
    for ds in sent:
        uid = str(ds.SOPInstanceUID)
        kept = pydicom.dcmread(scp.store.instance_path(uid))
        assert kept.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
        assert kept.PixelData == ds.PixelData  # the bytes as sent, compressed ones too
        result = scp.store.result(uid)
        assert result is not None and result["analysed"] and result["error"] is None
        assert result["urgency"]["tier"] in ("routine", "urgent")
    assert {i.sop_instance_uid for i in sink.got} >= {str(d.SOPInstanceUID) for d in sent}
    assert {i.study_uid for i in sink.got} >= {str(d.StudyInstanceUID) for d in sent}
    # the SR of each went back to the PACS, referencing its source image
    deadline = time.monotonic() + 30
    while len(pacs.datasets) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    refs = {
        str(
            sr.CurrentRequestedProcedureEvidenceSequence[0]
            .ReferencedSeriesSequence[0]
            .ReferencedSOPSequence[0]
            .ReferencedSOPInstanceUID
        )
        for sr in pacs.datasets
    }
    assert refs >= {str(d.SOPInstanceUID) for d in sent}
    assert all(sr.Modality == "SR" for sr in pacs.datasets)
    assert all((scp.store.root / "sent" / str(d.SOPInstanceUID)).exists() for d in sent)


def test_a_resent_instance_is_acknowledged_not_duplicated(scp: ScpHandle) -> None:
    ds = radiograph(seed=5)
    before = scp.duplicates
    for _ in range(2):
        assoc = _assoc(scp.port, (CR, EXPLICIT))
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
    assert scp.duplicates == before + 1
    files = list((scp.store.root / "instances").glob(f"{ds.SOPInstanceUID}*"))
    assert len(files) == 1


def test_other_sop_classes_and_ae_titles_are_refused(scp: ScpHandle) -> None:
    assoc = _assoc(scp.port, (CT, EXPLICIT))
    assert assoc.is_established  # Verification is accepted ...
    assert [c.abstract_syntax for c in assoc.accepted_contexts] == [VERIFICATION]
    ct = radiograph(sop_class=CT)
    with pytest.raises(ValueError):  # ... CT Image Storage is not
        assoc.send_c_store(ct)
    assoc.release()
    assert not scp.store.has(str(ct.SOPInstanceUID))
    wrong = _assoc(scp.port, called="ELSEWHERE")
    assert wrong.is_rejected


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("uid", ["1.2.03.4", "1..2", "1.2.3.x"])
def test_an_instance_uid_that_is_no_uid_is_refused(scp: ScpHandle, uid: str) -> None:
    ds = radiograph()
    ds.SOPInstanceUID = uid
    assoc = _assoc(scp.port, (CR, EXPLICIT))
    status = assoc.send_c_store(ds)
    assoc.release()
    assert status.Status == 0xC000
    assert not any(uid in p.name for p in scp.store.root.rglob("*"))


def test_restart_analyses_what_was_stored_but_not_analysed(tmp_path: Path) -> None:
    store = InstanceStore.open(tmp_path)
    ds = radiograph(seed=9)
    uid = str(ds.SOPInstanceUID)
    raw = save(ds, tmp_path / "x.dcm").read_bytes()
    assert store.put_instance(uid, raw)
    (tmp_path / "incoming" / "half.dcm.1234.part").write_bytes(raw[:100])  # a crash mid-write
    handle = start_scp(ScpConfig(store_dir=tmp_path, port=0, analyze=False))
    try:
        assert handle.wait_idle(60)
        assert store.result(uid) is not None
        assert not list((tmp_path / "incoming").iterdir())
    finally:
        handle.stop()


def test_dcmtk_echoscu_and_storescu(scp: ScpHandle, tmp_path: Path) -> None:
    if shutil.which("storescu") is None or shutil.which("echoscu") is None:
        pytest.skip("dcmtk (echoscu, storescu) is not installed: apt-get install dcmtk")
    port = str(scp.port)
    echo = subprocess.run(
        ["echoscu", "-aec", "RADPILOT", "127.0.0.1", port], capture_output=True, timeout=60
    )
    assert echo.returncode == 0, echo.stderr
    files = [save(radiograph(seed=20 + i), tmp_path / f"{i}.dcm") for i in range(2)]
    store = subprocess.run(
        ["storescu", "-aec", "RADPILOT", "127.0.0.1", port, *map(str, files)],
        capture_output=True,
        timeout=60,
    )
    assert store.returncode == 0, store.stderr
    for f in files:
        assert scp.store.has(str(pydicom.dcmread(f).SOPInstanceUID))
    # the compressed samples, proposed in their own transfer syntax, are kept as sent
    for option, name in (("-xy", "siim_monochrome2.dcm"), ("-xv", "siim_true_monochrome1.dcm")):
        sample = samples.get(name)
        sent = subprocess.run(
            ["storescu", option, "-aec", "RADPILOT", "127.0.0.1", port, str(sample)],
            capture_output=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        ds = pydicom.dcmread(sample)
        kept = pydicom.dcmread(scp.store.instance_path(str(ds.SOPInstanceUID)))
        assert kept.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
        assert kept.PixelData == ds.PixelData
    bad = subprocess.run(
        [
            "storescu",
            "-aec",
            "RADPILOT",
            "127.0.0.1",
            port,
            str(save(radiograph(sop_class=CT), tmp_path / "ct.dcm")),
        ],
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode != 0  # no presentation context for CT


def test_cli_echo_and_send(scp: ScpHandle, tmp_path: Path) -> None:
    from radpilot.cli import app

    runner = CliRunner()
    peer = f"127.0.0.1:{scp.port}:RADPILOT"
    res = runner.invoke(app, ["dicom", "echo", peer])
    assert res.exit_code == 0 and "status 0x0000" in res.output
    good = save(radiograph(seed=30), tmp_path / "good.dcm")
    ct = save(radiograph(sop_class=CT), tmp_path / "ct.dcm")
    res = runner.invoke(app, ["dicom", "send", peer, str(good), str(ct)])
    assert res.exit_code == 1
    assert "sent 1 of 2" in res.output
    assert "ct.dcm: not sent" in res.output
    res = runner.invoke(app, ["dicom", "echo", "127.0.0.1:1:NOBODY"])
    assert res.exit_code == 2
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not a DICOM file")
    res = runner.invoke(app, ["dicom", "send", peer, str(junk)])
    assert isinstance(res.exception, InputError)  # one line from the CLI, no traceback


@pytest.mark.parametrize("text", ["host", "host:port", ":104", "h:70000", "h:104:" + "A" * 17])
def test_bad_peers_are_one_line_errors(text: str) -> None:
    with pytest.raises(InputError):
        Peer.parse(text)


def test_a_study_of_two_images_is_one_worklist_entry(tmp_path: Path) -> None:
    from contextlib import closing

    from radpilot.server.dicom_worklist import WorklistSink
    from radpilot.workflow.studies import open_studies

    db = tmp_path / "studies.db"
    handle = start_scp(ScpConfig(store_dir=tmp_path / "store", port=0, sink=WorklistSink(db)))
    study = "1.2.826.0.1.3680043.2.77"
    sent = [radiograph(study_uid=study, seed=40), radiograph(study_uid=study, seed=41)]
    try:
        assoc = _assoc(handle.port, (CR, EXPLICIT))
        for ds in sent:
            assert assoc.send_c_store(ds).Status == 0
        assoc.release()
        with closing(open_studies(db, readonly=True)) as studies:
            first = studies.get(study)  # on the worklist as soon as it is received
        assert first is not None and first.patient_id == "PAT001"
        assert handle.wait_idle(120)
    finally:
        handle.stop()
    with closing(open_studies(db, readonly=True)) as studies:
        (entry,) = studies.list()
    assert entry.study_uid == study and entry.status.value == "analysed"
    assert entry.accession == "ACC12345" and entry.modality == "CR"
    assert sorted(a["sop_instance_uid"] for a in entry.analysis or ()) == sorted(
        str(d.SOPInstanceUID) for d in sent
    )
    assert entry.urgency is not None and entry.urgency.tier in ("routine", "urgent")


def test_a_full_disk_is_out_of_resources_and_nothing_is_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    handle = start_scp(ScpConfig(store_dir=tmp_path, port=0, analyze=False))
    try:

        def full(*args: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(InstanceStore, "write_atomic", full)
        ds = radiograph()
        assoc = _assoc(handle.port, (CR, EXPLICIT))
        assert assoc.send_c_store(ds).Status == 0xA700
        monkeypatch.undo()  # space again: the modality's retry is stored
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
        assert handle.store.has(str(ds.SOPInstanceUID))
    finally:
        handle.stop()


def test_an_sr_the_pacs_did_not_take_is_sent_after_a_restart(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: the PACS is down
        s.bind(("127.0.0.1", 0))
        down = s.getsockname()[1]
    store = tmp_path / "store"
    handle = start_scp(ScpConfig(store_dir=store, port=0, pacs=Peer("127.0.0.1", down, "PACS")))
    ds = radiograph(seed=50)
    uid = str(ds.SOPInstanceUID)
    try:
        assoc = _assoc(handle.port, (CR, EXPLICIT))
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
        assert handle.wait_idle(120)
        assert handle.store.sr_path(uid).exists()
        assert not (store / "sent" / uid).exists()
    finally:
        handle.stop()
    pacs = Pacs()
    handle = start_scp(
        ScpConfig(store_dir=store, port=0, pacs=Peer("127.0.0.1", pacs.port, "PACS"))
    )
    try:
        assert handle.wait_idle(60)
        assert (store / "sent" / uid).exists()
        assert len(pacs.datasets) == 1
    finally:
        handle.stop()
        pacs.stop()

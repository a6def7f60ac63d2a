"""kill -9 of `radpilot dicom listen` in the middle of an association, while it analyses:
after a restart on the same store nothing acknowledged is lost, nothing is duplicated,
and everything acknowledged is analysed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pydicom
from pynetdicom import AE

from dicom_cases import CR, radiograph
from radpilot.server.dicom_scp import VERIFICATION
from radpilot.workflow.studies import open_studies

EXPLICIT = "1.2.840.10008.1.2.1"
LAUNCH = "from radpilot.cli import main; main()"


def _listen(store: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    db = store.parent / "studies.db"
    # stderr to a file: a pipe nobody reads could fill and stall the server
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCH,
                "dicom",
                "listen",
                "--store",
                str(store),
                "--port",
                "0",
                "--db",
                str(db),
            ],
            stderr=err,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("listening on"):
                return proc, int(line.split()[2].rsplit(":", 1)[1])
        assert proc.poll() is None, f"the SCP exited with {proc.returncode}"
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the SCP did not start")


def _send(port: int, datasets: list[Any], kill_after: int | None, proc: Any) -> list[str]:
    """C-STORE on one association; the UIDs acknowledged (status 0), until it breaks."""
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(VERIFICATION)
    ae.add_requested_context(CR, [EXPLICIT])
    assoc = ae.associate("127.0.0.1", port, ae_title="RADPILOT")
    assert assoc.is_established
    acked: list[str] = []
    for ds in datasets:
        if kill_after is not None and len(acked) == kill_after:
            os.kill(proc.pid, signal.SIGKILL)  # mid-association, with analysis under way
        try:
            status = assoc.send_c_store(ds)
        except (RuntimeError, ValueError):
            break
        if "Status" not in status:  # no answer: the association died
            break
        if status.Status == 0:
            acked.append(str(ds.SOPInstanceUID))
    if assoc.is_established:
        assoc.release()
    return acked


def test_kill_9_loses_nothing_acknowledged_and_duplicates_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    datasets = [radiograph(seed=i, study_uid=None) for i in range(6)]
    proc, port = _listen(store, tmp_path / "first.log")
    try:
        acked = _send(port, datasets, kill_after=3, proc=proc)
    finally:
        proc.kill()
        proc.wait(30)
    assert 3 <= len(acked) < len(datasets)  # the kill cut the association short
    for uid in acked:  # every acknowledged instance is whole on disk
        kept = pydicom.dcmread(store / "instances" / f"{uid}.dcm")
        sent = next(d for d in datasets if str(d.SOPInstanceUID) == uid)
        assert kept.PixelData == sent.PixelData
    proc, port = _listen(store, tmp_path / "second.log")
    try:
        # the modality retries the whole study: the acknowledged ones are not stored twice
        again = _send(port, datasets, kill_after=None, proc=proc)
        assert again == [str(d.SOPInstanceUID) for d in datasets]
        deadline = time.monotonic() + 120
        while len(list((store / "analysed").glob("*.json"))) < len(datasets):
            assert time.monotonic() < deadline, "not every stored instance was analysed"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    err = (tmp_path / "second.log").read_text(errors="replace")
    assert proc.returncode == 0
    assert "stopped:" in err and "Traceback" not in err and "worklist:" not in err
    names = sorted(p.name for p in (store / "instances").iterdir())
    assert names == sorted(f"{d.SOPInstanceUID}.dcm" for d in datasets)
    assert not list((store / "incoming").iterdir())
    assert len(list((store / "analysed").glob("*.json"))) == len(datasets)
    # each study once on the worklist, analysed, with every image of it
    with closing(open_studies(tmp_path / "studies.db", readonly=True)) as studies:
        listed = studies.list()
    assert sorted(s.study_uid for s in listed) == sorted(str(d.StudyInstanceUID) for d in datasets)
    assert all(s.status.value == "analysed" and len(s.analysis or ()) == 1 for s in listed)

"""Hypothesis against the Storage SCP: mutated and random dataset bytes inside a C-STORE,
and garbage on the wire instead of an association. The SCP answers a status (success only
for what it stored), stores nothing it refused, and keeps answering C-ECHO."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import pynetdicom.association
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.filewriter import dcmwrite
from pynetdicom import AE

from dicom_cases import CR, radiograph
from radpilot.server.dicom_scp import VERIFICATION, ScpConfig, ScpHandle, start_scp

EXPLICIT = "1.2.840.10008.1.2.1"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScpHandle]:
    config = ScpConfig(
        store_dir=tmp_path_factory.mktemp("fuzz"),
        port=0,
        analyze=False,
        acse_timeout=1.0,  # half-sent association requests are dropped after 1 s
        network_timeout=5.0,
    )
    handle = start_scp(config)
    yield handle
    handle.stop()


def _echo(port: int) -> int:
    ae = AE(ae_title="FUZZ")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADPILOT")
    assert assoc.is_established, "the SCP no longer accepts associations"
    status = int(assoc.send_c_echo().Status)
    assoc.release()
    return status


def _encoded(ds: Any) -> bytes:
    buf = BytesIO()
    dcmwrite(buf, ds, implicit_vr=False, little_endian=True)
    return buf.getvalue()


@lru_cache(maxsize=1)
def _base() -> bytes:
    """One encoded radiograph, the same for every example (so draws replay exactly)."""
    return _encoded(radiograph(size=16))


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    raw = bytearray(_base())
    for _ in range(draw(st.integers(1, 10))):
        pos = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "length"]))
        if op == "flip":
            raw[pos] = draw(st.integers(0, 255))
        elif op == "delete":
            del raw[pos : pos + draw(st.integers(1, 64))]
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif op == "truncate":
            del raw[pos:]
        else:  # an element length far past the end
            raw[pos : pos + 4] = struct.pack("<I", draw(st.integers(0, 2**32 - 1)))
        if not raw:
            raw = bytearray(b"\x00")
    return bytes(raw)


@FUZZ
@given(payload=payloads())
def test_malformed_datasets_never_break_the_scp(
    scp: ScpHandle, payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = radiograph(size=16)
    uid = str(ds.SOPInstanceUID)
    ae = AE(ae_title="FUZZ")
    ae.add_requested_context(CR, [EXPLICIT])
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="RADPILOT")
    assert assoc.is_established
    with monkeypatch.context() as m:  # the SCU sends these bytes as the dataset
        m.setattr(pynetdicom.association, "encode", lambda *a, **k: payload)
        status = assoc.send_c_store(ds)
    if assoc.is_established:
        assoc.release()
    if "Status" in status and status.Status == 0:
        assert scp.store.has(uid)
    else:
        assert not scp.store.has(uid)


@FUZZ
@given(
    prefix=st.sampled_from([b"", b"\x01\x00", b"\x01\x00\x00\x00\x00\x44\x00\x01", b"\x04\x00"]),
    body=st.binary(max_size=512),
)
def test_garbage_on_the_wire_never_breaks_the_scp(
    scp: ScpHandle, prefix: bytes, body: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", scp.port), timeout=5) as sock:
        try:
            sock.sendall(prefix + body)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(64)
        except OSError:
            pass  # the SCP may drop us: that is an answer


def test_still_answering_after_the_fuzzing(scp: ScpHandle) -> None:
    # every connection the garbage opened is dropped by the ACSE timeout, none lingers
    deadline = time.monotonic() + 20
    while scp.associations and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scp.associations == 0
    assert _echo(scp.port) == 0
    assert not list(Path(scp.store.root, "incoming").iterdir())

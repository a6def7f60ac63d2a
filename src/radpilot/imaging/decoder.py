"""Compressed DICOM pixel data is decoded in a child process, so a native decoder that
crashes, hangs or runs out of memory costs one file, never the batch.

Why: the decoders behind pydicom's pixel plugins are C/C++ (GDCM, libjpeg, OpenJPEG,
CharLS). On a damaged stream some of them do not raise, they end the process: GDCM
aborts on a JPEG whose first marker byte is flipped and segfaults on an absurd sample
precision (``tests/robustness/data/``). In-process, that kills ``radpilot analyze`` and
every result of its batch with it.

How: :class:`PixelDecoder` owns one long-lived child, started lazily on the first
compressed file and restarted after a failure, so a batch pays the start once. The
parent sends the image pixel module (group 0028 values) and the encoded bytes; the file
is never opened again. The child decodes with ``Dataset.pixel_array`` exactly as the
parent used to, and sends back the stored values' raw buffer, which the parent receives
straight into its own array (one copy, no pickle of the pixels). A child killed by a
signal or exiting, one still decoding after the time limit (it is killed), and a
``MemoryError`` in it each become one :class:`~radpilot.errors.DicomError` naming the
file and what happened. Native (uncompressed) pixel data is decoded in-process by numpy
and never comes here.

The child starts by forkserver (never fork a parent that has loaded torch and runs
threads), ignores Ctrl-C, exits with its parent, and writes nothing to the parent's
stdout or stderr (a decoder's own messages and an abort's "Assertion failed" line go to
/dev/null unless radpilot runs at DEBUG).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import DicomError
from radpilot.imaging.pixels import one_line, uid_name

log = logging.getLogger(__name__)

# Transfer syntaxes whose pixel data is stored as plain values (numpy reads them); every
# other syntax, an unknown one included, is decoded in the child.
NATIVE_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian (inflated on read)
        "1.2.840.10008.1.2.2",  # Explicit VR Big Endian
    }
)
# Elements the decoder reads (pydicom ``as_pixel_options``): the image pixel module and
# the extended offset table.
_PIXEL_MODULE_TAGS = (
    0x00280002,  # SamplesPerPixel
    0x00280004,  # PhotometricInterpretation
    0x00280006,  # PlanarConfiguration
    0x00280008,  # NumberOfFrames
    0x00280010,  # Rows
    0x00280011,  # Columns
    0x00280100,  # BitsAllocated
    0x00280101,  # BitsStored
    0x00280102,  # HighBit
    0x00280103,  # PixelRepresentation
    0x7FE00001,  # ExtendedOffsetTable
    0x7FE00002,  # ExtendedOffsetTableLengths
)
_PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel, Float, Double Float
_START_SECONDS = 60.0  # a child that is not ready by then will not be


def is_encapsulated(ds: Any) -> bool:
    """Whether ``ds``'s pixel data needs a codec (decoded in the child)."""
    meta = getattr(ds, "file_meta", None)
    syntax = "" if meta is None else str(meta.get("TransferSyntaxUID", "") or "")
    return syntax.strip().rstrip("\0") not in NATIVE_SYNTAXES


class PixelDecoder:
    """One decoder child for a batch; use it as a context manager (the child ends with
    the block). ``setup``: a module-level function the child runs once before its first
    decode, e.g. to register a pydicom decoder plugin the parent registered too.

    >>> import pydicom
    >>> from radpilot import samples
    >>> path = samples.get("siim_monochrome2.dcm")
    >>> with PixelDecoder() as decoder:
    ...     arr = decoder.decode(pydicom.dcmread(path), path, timeout=60)
    >>> arr.shape, arr.dtype, decoder.starts
    ((1024, 1024), dtype('uint8'), 1)
    """

    def __init__(self, *, setup: Callable[[], None] | None = None) -> None:
        self._setup = setup
        self._process: Any = None
        self._conn: Connection | None = None
        self.starts = 0  # children started, restarts after a failure included

    def __enter__(self) -> PixelDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, ds: Any, path: str | Path, *, timeout: float) -> np.ndarray:
        """The stored values of ``ds``'s (compressed) pixel data, as ``ds.pixel_array``
        gives them. Raises :class:`DicomError` naming ``path`` when the decoder fails,
        crashes, runs out of memory or runs past ``timeout`` seconds."""
        syntax = uid_name(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        try:
            header, pixels = _request(ds)
            message = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a damaged pixel module element that cannot be read
            raise DicomError(
                f"{path}: cannot decode pixel data ({syntax}): {one_line(exc)}"
            ) from None
        conn = self._running(path)
        try:
            conn.send_bytes(message)
            conn.send_bytes(pixels)
        except (OSError, EOFError):
            raise self._died(path, syntax) from None
        if not conn.poll(timeout):
            self.close()
            raise DicomError(
                f"{path}: the pixel decoder did not finish within {timeout:g} s "
                f"({syntax}); stopped, file skipped (--decode-timeout)"
            )
        try:
            reply = conn.recv()
            if reply[0] == "ok":
                return self._receive(conn, reply[1], reply[2])
        except (OSError, EOFError):
            raise self._died(path, syntax) from None
        if reply[0] == "memory":
            self.close()  # a child that ran out of memory is not trusted with the next file
            raise DicomError(
                f"{path}: the pixel decoder ran out of memory ({syntax}); file skipped"
            )
        raise DicomError(f"{path}: cannot decode pixel data ({syntax}): {reply[1]}")

    def _receive(self, conn: Connection, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        """The decoded values, received straight into the array that holds them."""
        try:
            arr = np.empty(shape, dtype=np.dtype(dtype))
            if arr.size:
                conn.recv_bytes_into(arr.data.cast("B"))
            else:
                conn.recv_bytes()
            return arr
        except (OSError, EOFError):
            raise
        except BaseException:
            self.close()  # the pixels were not read off the pipe: this child is out of step
            raise

    def close(self) -> None:
        """End the child (killed if it is still decoding)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()  # an idle child sees EOF and exits
        if process is not None:
            process.join(2.0)
            if process.exitcode is None:
                process.kill()
                process.join()
            with contextlib.suppress(ValueError):
                process.close()

    def _running(self, path: str | Path) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self.close()
        from radpilot.pool import child_context

        # pydicom takes ~0.7 s to import on a small CPU: where this is the process's
        # first child, the fork server imports it once and every decoder forks with it.
        context = child_context(__name__, "pydicom")
        parent, child = context.Pipe(duplex=True)
        quiet = not logging.getLogger().isEnabledFor(logging.DEBUG)
        process = context.Process(
            target=_serve,
            args=(child, os.getpid(), quiet, self._setup),
            name="radpilot-decoder",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.starts += 1
        try:
            if parent.poll(_START_SECONDS) and parent.recv() == ("ready",):
                log.debug("decoder process %d started", process.pid)
                return parent
        except (OSError, EOFError):
            pass
        self.close()
        raise DicomError(f"{path}: the pixel decoder process could not be started")

    def _died(self, path: str | Path, syntax: str) -> DicomError:
        """The error for a child that ended while decoding (it is reaped first)."""
        process = self._process
        code = None
        if process is not None:
            process.join(5.0)
            code = process.exitcode
        self.close()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "unknown signal"
            how = f"crashed (signal {-code}, {name})"
        elif code is not None:
            how = f"exited with status {code}"
        else:
            how = "stopped answering"
        log.debug("decoder process ended while decoding %s: %s", path, how)
        return DicomError(f"{path}: the pixel decoder {how} on {syntax} data; file skipped")


def _request(ds: Any) -> tuple[tuple[str, list[tuple[int, str, Any]], int, str], bytes]:
    """What crosses to the child: the transfer syntax, the pixel module elements, the
    pixel data element's tag and VR (header), and its encoded bytes (sent raw)."""
    elements = [(tag, ds[tag].VR, ds[tag].value) for tag in _PIXEL_MODULE_TAGS if tag in ds]
    tag = next(t for t in _PIXEL_DATA_TAGS if t in ds)
    value = ds[tag].value
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "") or "")
    return (syntax, elements, tag, ds[tag].VR), bytes(value or b"")


def _serve(conn: Connection, parent: int, quiet: bool, setup: Callable[[], None] | None) -> None:
    """The child: decode requests until the parent closes the pipe or ends."""
    import warnings

    from radpilot.pool import child_init

    child_init(parent)
    _quiet_output(quiet)
    warnings.simplefilter("ignore")  # pydicom's warnings quote header values
    logging.getLogger("pydicom").propagate = False
    from pydicom import config

    config.settings.reading_validation_mode = config.IGNORE
    if setup is not None:
        setup()
    conn.send(("ready",))
    while True:
        try:
            header = pickle.loads(conn.recv_bytes())
            pixels = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            arr = np.ascontiguousarray(_decode(header, pixels))
        except MemoryError:
            conn.send(("memory",))
            continue
        except Exception as exc:  # decoder errors are plugin-specific; all mean "cannot"
            conn.send(("error", one_line(exc)))
            continue
        conn.send(("ok", arr.shape, arr.dtype.str))
        conn.send_bytes(arr.data.cast("B") if arr.size else b"")
        del arr


def _decode(header: tuple[str, list[tuple[int, str, Any]], int, str], pixels: bytes) -> Any:
    from pydicom.dataset import Dataset, FileMetaDataset

    syntax, elements, tag, vr = header
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    for element_tag, element_vr, value in elements:
        ds.add_new(element_tag, element_vr, value)
    ds.add_new(tag, vr, pixels)
    return ds.pixel_array


def _quiet_output(quiet: bool) -> None:
    """Nothing the child prints may reach the parent's stdout (the JSON a user pipes) or,
    unless debugging, its stderr (one line per file)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull if quiet else 2, 1)
    if quiet:
        os.dup2(devnull, 2)
    os.close(devnull)

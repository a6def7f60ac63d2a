"""PNG input under hypothesis: any bytes, mutated real PNGs, every PNG mode at odd sizes,
16-bit data with and without sBIT, and huge dimensions declared in the header. For
every input: no traceback, one result or one error line per file, exit codes."""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_cli import run_analyze, run_blobs
from PIL import Image

from radpilot import samples

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REAL = samples.get("nih_normal.png").read_bytes()
MODES = ("1", "L", "LA", "I;16", "RGB", "RGBA", "P")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_chunk_after_ihdr(png: bytes, extra: bytes) -> bytes:
    end = 8 + 8 + 13 + 4  # signature, IHDR header, IHDR data, CRC
    return png[:end] + extra + png[end:]


def declared_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR saying width x height (the data stays small)."""
    ihdr = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + chunk(b"IHDR", ihdr) + png[33:]


def synthetic(mode: str, width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 4096, (height, width), dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def run_batch(blobs: list[bytes]) -> None:
    run_blobs(blobs, ".png")


@SETTINGS
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_any_bytes_after_the_png_signature(tails: list[bytes]) -> None:
    run_batch([b"\x89PNG\r\n\x1a\n" + t for t in tails])


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(REAL) - 1), st.integers(0, 255)), min_size=1, max_size=20
    ),
    st.integers(40, len(REAL)),
)
def test_mutated_real_png(flips: list[tuple[int, int]], cut: int) -> None:
    flipped = bytearray(REAL)
    for pos, value in flips:
        flipped[pos] = value
    run_batch([bytes(flipped), REAL[:cut], REAL])


@SETTINGS
@given(
    st.sampled_from(MODES),
    st.integers(1, 80),
    st.integers(1, 80),
    st.integers(0, 2**16),
    st.none() | st.integers(1, 16),
)
def test_every_mode_and_odd_sizes_with_or_without_sbit(
    mode: str, width: int, height: int, seed: int, sbit: int | None
) -> None:
    png = synthetic(mode, width, height, seed)
    if sbit is not None:
        channels = {"1": 1, "L": 1, "LA": 2, "I;16": 1, "RGB": 3, "RGBA": 4, "P": 3}[mode]
        png = with_chunk_after_ihdr(png, chunk(b"sBIT", bytes([sbit] * channels)))
    run_batch([png])


@SETTINGS
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1))
def test_huge_dimensions_declared_in_the_header(width: int, height: int) -> None:
    run_batch([declared_size(REAL, width, height)])


def test_a_huge_declared_image_is_refused_before_decoding() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.png"
        path.write_bytes(declared_size(REAL, 50_000, 50_000))
        code, records, stderr = run_analyze([path])
    assert code == 2
    assert records[0]["error"] == (
        f"{path}: image is 50000x50000 pixels, 2500.0 MP, above the limit of 100.0 MP "
        "(max_pixels); reduce it before reading or raise the limit"
    )
    assert stderr.strip() == f"error: {records[0]['error']}"

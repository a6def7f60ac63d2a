"""Peak memory of `radpilot analyze` on the largest image it accepts by default
(``--max-pixels`` 100,000,000: 10,000 x 10,000), per input kind, against the same
command on a 512 x 512 radiograph in the same run (the baseline: Python, torch and the
model). BENCHMARKS.md, "Image input: memory".

Each measurement is its own process: `radpilot analyze FILE --out DIR --all-heatmaps`
(read, quality gate, model, heatmap, overlay with caption, PNG and, for DICOM, SR and
Secondary Capture), peak resident memory from ``getrusage`` of that process, and for a
compressed DICOM the peak of radpilot's decoder process (VmHWM, read before it ends). The
test images are the bundled NIH radiograph enlarged (bilinear) to the size asked for.

    .venv/bin/python benchmarks/image_memory.py [--side 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from radpilot import samples

KINDS = ("png-8bit", "png-16bit", "png-rgb", "jpeg", "dicom-16bit", "dicom-16bit-jpegls")


def make(kind: str, side: int, folder: Path) -> Path:
    film = Image.open(samples.get("nih_normal.png")).convert("L")
    big = np.asarray(film.resize((side, side), Image.Resampling.BILINEAR))
    if kind == "png-8bit":
        path = folder / "big8.png"
        Image.fromarray(big).save(path, compress_level=1)
    elif kind == "png-16bit":
        path = folder / "big16.png"
        Image.fromarray((big.astype(np.uint16) << 4) | 0xF).save(path, compress_level=1)
    elif kind == "png-rgb":
        path = folder / "bigrgb.png"
        Image.fromarray(big).convert("RGB").save(path, compress_level=1)
    elif kind == "jpeg":
        path = folder / "big.jpg"
        Image.fromarray(big).save(path, quality=90)
    elif kind == "dicom-16bit":
        path = folder / "big16.dcm"
        _dicom((big.astype(np.uint16) << 4) | 0xF, path)
    else:
        path = folder / "big16-jpegls.dcm"
        _dicom((big.astype(np.uint16) << 4) | 0xF, path, compressed=True)
    return path


def _dicom(pixels: np.ndarray, path: Path, *, compressed: bool = False) -> None:
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelData = pixels.tobytes()
    if compressed:  # JPEG-LS lossless: decoded in radpilot's decoder process
        from pydicom.uid import JPEGLSLossless

        ds.compress(JPEGLSLossless)
    ds.save_as(path, enforce_file_format=True)


def child(path: str, out: str) -> None:
    """Run the CLI in this process and print its exit code and peak RSS as JSON."""
    from radpilot.commands.main import run
    from radpilot.imaging.decoder import PixelDecoder

    decoder_peak = [0.0]
    close = PixelDecoder.close

    def close_and_measure(self: PixelDecoder) -> None:
        # The decoder process's own peak (it is not this process's child: the fork
        # server's), read before it ends.
        process = self._process
        if process is not None and process.pid is not None:
            with open(f"/proc/{process.pid}/status") as fh:
                hwm = next(line for line in fh if line.startswith("VmHWM:"))
            decoder_peak[0] = max(decoder_peak[0], int(hwm.split()[1]) / 1024)
        close(self)

    PixelDecoder.close = close_and_measure  # type: ignore[method-assign]
    started = time.perf_counter()
    code = run(["analyze", path, "--out", out, "--all-heatmaps", "--json"])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "code": code,
                "peak_mib": peak_kib / 1024,
                "s": seconds,
                "decoder_mib": decoder_peak[0],
            }
        )
    )


def measure(path: Path, out: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=10_000)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    table = Table(
        title=f"radpilot analyze --out --all-heatmaps: peak RSS, {args.side} x {args.side}"
    )
    for col in (
        "input", "file MiB", "exit", "peak RSS MiB", "above baseline MiB", "decoder process peak MiB", "s",
    ):  # fmt: skip
        table.add_column(col, justify="right" if col != "input" else "left")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = measure(samples.get("nih_normal.png"), folder / "out-base")
        table.add_row(
            "baseline: nih_normal.png 512 x 512",
            "0.2",
            str(base["code"]),
            f"{base['peak_mib']:.0f}",
            "0",
            "",
            f"{base['s']:.1f}",
        )
        for kind in args.kinds.split(","):
            path = make(kind, args.side, folder)
            got = measure(path, folder / f"out-{kind}")
            table.add_row(
                kind,
                f"{path.stat().st_size / 2**20:.0f}",
                str(got["code"]),
                f"{got['peak_mib']:.0f}",
                f"{got['peak_mib'] - base['peak_mib']:.0f}",
                f"{got['decoder_mib']:.0f}" if got["decoder_mib"] else "(none started)",
                f"{got['s']:.1f}",
            )
            path.unlink()
    Console(width=120).print(table)


if __name__ == "__main__":
    main()

"""Image input and prior comparison: read speed per DICOM transfer syntax, and
registration quality on the serial set (25 patients).

1. Read speed: the bundled SIIM radiograph (1024², 8-bit) re-encoded in each transfer
   syntax, read by ``radpilot.imaging.dicomio.read_image`` (decode + modality/VOI +
   scaling) --repeats times; images/s and the ratio against uncompressed Explicit VR
   Little Endian measured in the same run. Compressed pixels are decoded as ``analyze``
   decodes them, in the batch's (warm) decoder process; each read alternates with the
   same read decoding in-process (the path before the decoder process), and the ratio
   of the two is the isolation's cost.
2. Registration: for each patient in ../shared/data/images/serial (metadata.csv), the
   last study (current) against the first (prior) — ordered by `offset` days, by file
   order when offsets are missing — registered with each transform kind; NCC and
   mutual information on the same overlap before (prior only resampled) and after.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imaging_io.py [--repeats 10] [--kinds affine]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)
from rich.console import Console
from rich.table import Table
from timing import paired

from radpilot import samples
from radpilot.imaging.decoder import PixelDecoder
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.registration import register


def _make_files(folder: Path) -> dict[str, Path]:
    src = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    arr = src.pixel_array
    native = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
        if keyword in native:
            delattr(native, keyword)
    native.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    native.PixelData = arr.tobytes()
    files = {"Explicit VR LE (uncompressed)": folder / "native.dcm"}
    native.save_as(files["Explicit VR LE (uncompressed)"], enforce_file_format=True)
    files["JPEG baseline (lossy)"] = samples.get("siim_monochrome2.dcm")
    for label, uid, kwargs in (
        ("RLE lossless", RLELossless, {}),
        ("JPEG-LS lossless", JPEGLSLossless, {}),
        ("JPEG 2000 lossless", JPEG2000Lossless, {}),
        ("JPEG 2000 lossy (20:1)", JPEG2000, {"j2k_cr": [20]}),
    ):
        ds = pydicom.dcmread(files["Explicit VR LE (uncompressed)"])
        ds.compress(uid, **kwargs)
        path = folder / f"{uid.keyword}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files[label] = path
    try:
        import gdcm

        reader = gdcm.ImageReader()
        reader.SetFileName(str(files["Explicit VR LE (uncompressed)"]))
        reader.Read()
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        change.Change()
        writer = gdcm.ImageWriter()
        path = folder / "jpegll.dcm"
        writer.SetFileName(str(path))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        writer.Write()
        files["JPEG lossless SV1 (gdcm-encoded)"] = path
    except ImportError:
        pass
    return files


class InProcessDecoder:
    """The path before the decoder process, for the A/B: ``ds.pixel_array`` here."""

    def decode(self, ds: Any, path: object, *, timeout: float) -> np.ndarray:
        return ds.pixel_array


def read_speed(console: Console, repeats: int) -> None:
    """read_image per transfer syntax as ``analyze`` reads (compressed pixels in the
    batch's warm decoder process), against the same read decoding in-process."""
    inproc = InProcessDecoder()
    with tempfile.TemporaryDirectory() as tmp, PixelDecoder() as decoder:
        files = _make_files(Path(tmp))
        rows = []
        for label, path in files.items():
            isolated, here, _ = paired(
                lambda p=path: read_image(p, decoder=decoder),
                lambda p=path: read_image(p, decoder=inproc),  # type: ignore[arg-type]
                repeats,
            )
            rows.append((label, path.stat().st_size, isolated, here))
        jpeg = files["JPEG baseline (lossy)"]
        t0 = time.perf_counter()
        for _ in range(repeats):
            read_image(jpeg)  # no batch decoder: a decoder process started for each file
        one_shot = (time.perf_counter() - t0) / repeats
    base = rows[0][2]
    table = Table(
        title=f"read_image speed, SIIM 1024² 8-bit, median of {repeats} reads each, "
        "decoder process vs in-process alternating"
    )
    for col in (
        "transfer syntax", "file KiB", "ms / image", "images / s", "ratio vs uncompressed",
        "in-process ms", "decoder process / in-process",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col == "transfer syntax" else "right")
    for label, size, seconds, here in rows:
        table.add_row(
            label,
            f"{size / 1024:.0f}",
            f"{seconds * 1000:.1f}",
            f"{1 / seconds:.1f}",
            f"{base / seconds:.2f}x",
            f"{here * 1000:.1f}",
            f"{seconds / here:.2f}x"
            if label != "Explicit VR LE (uncompressed)"
            else "(in-process)",
        )
    console.print(table)
    console.print(
        f"JPEG baseline read without a batch decoder (a decoder process started and ended "
        f"for the one file): {one_shot * 1000:.0f} ms / image; decoder process starts in "
        f"this run: {decoder.starts}"
    )


def _serial_pairs(folder: Path) -> list[tuple[str, Path, Path, str]]:
    rows = list(csv.DictReader((folder / "metadata.csv").open()))
    by_patient: dict[str, list[tuple[float, int, dict[str, str]]]] = {}
    for order, row in enumerate(rows):
        offset = float(row["offset"]) if row["offset"] else float("nan")
        by_patient.setdefault(row["patientid"], []).append((offset, order, row))
    pairs = []
    for patient, studies in by_patient.items():
        if any(np.isnan(o) for o, _, _ in studies):
            studies.sort(key=lambda s: s[1])
            span = "file order"
        else:
            studies.sort(key=lambda s: (s[0], s[1]))
            span = f"day {studies[0][0]:g} -> {studies[-1][0]:g}"
        if len(studies) >= 2:
            first, last = studies[0][2], studies[-1][2]
            pairs.append((patient, folder / last["filename"], folder / first["filename"], span))
    return pairs


def registration_quality(console: Console, shared: Path, kinds: list[str]) -> None:
    folder = shared / "data/images/serial"
    if not folder.is_dir():
        console.print(f"[yellow]{folder} not found: registration benchmark skipped[/]")
        return
    pairs = _serial_pairs(folder)
    summary = Table(
        title=f"Registration on the serial set: {len(pairs)} patients, last vs first study"
    )
    for col in (
        "transform",
        "NCC before (mean)",
        "NCC after (mean)",
        "NCC after (median)",
        "MI before (mean)",
        "MI after (mean)",
        "NCC improved",
        "NCC after >= 0.5",
        "s / pair",
    ):
        summary.add_column(col, justify="left" if col == "transform" else "right")
    images = {p: (read_image(c).pixels, read_image(pr).pixels) for p, c, pr, _ in pairs}
    detail: dict[str, list[tuple[float, float]]] = {}
    for kind in kinds:
        ncc_b, ncc_a, mi_b, mi_a, secs = [], [], [], [], []
        for patient, _, _, _ in pairs:
            current, prior = images[patient]
            t0 = time.perf_counter()
            reg = register(current, prior, kind=kind)
            secs.append(time.perf_counter() - t0)
            ncc_b.append(reg.ncc_before)
            ncc_a.append(reg.ncc_after)
            mi_b.append(reg.mi_before)
            mi_a.append(reg.mi_after)
            detail.setdefault(patient, []).append((reg.ncc_before, reg.ncc_after))
        improved = sum(a > b for a, b in zip(ncc_a, ncc_b, strict=True))
        good = sum(a >= 0.5 for a in ncc_a)
        summary.add_row(
            kind,
            f"{statistics.mean(ncc_b):.3f}",
            f"{statistics.mean(ncc_a):.3f}",
            f"{statistics.median(ncc_a):.3f}",
            f"{statistics.mean(mi_b):.3f}",
            f"{statistics.mean(mi_a):.3f}",
            f"{improved}/{len(pairs)}",
            f"{good}/{len(pairs)}",
            f"{statistics.mean(secs):.2f}",
        )
    per = Table(title="Per patient NCC before -> after (" + ", ".join(kinds) + ")")
    per.add_column("patient")
    per.add_column("studies")
    for kind in kinds:
        per.add_column(kind, justify="right")
    for patient, _, _, span in pairs:
        per.add_row(patient, span, *(f"{b:.2f} -> {a:.2f}" for b, a in detail[patient]))
    console.print(per)
    console.print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--kinds", default="rigid,similarity,affine")
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("RADPILOT_SHARED", Path.cwd().parent / "shared")),
    )
    args = parser.parse_args()
    console = Console(width=140)
    console.print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs visible")
    read_speed(console, args.repeats)
    registration_quality(console, args.shared, [k.strip() for k in args.kinds.split(",")])


if __name__ == "__main__":
    main()

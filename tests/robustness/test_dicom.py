"""DICOM input under hypothesis: every file of pydicom's test set, and mutated copies of
the samples (truncated, flipped bytes, wrong VRs, missing pixel data, absurd pixel
module values), with patient identifiers planted in the headers. For every input: no
traceback, one result or one error line per file, exit codes, and no identifier on
stderr. Every decode of compressed pixels, the seeds' included, runs in radpilot's
decoder process, so a decoder that crashes on a mutated file (GDCM aborts on some) costs
that file's line, never the pytest worker."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pydicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_cli import PHI, check_contract, run_analyze, run_blobs
from pydicom.uid import ExplicitVRLittleEndian

from radpilot import samples
from radpilot.imaging.decoder import PixelDecoder

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VRS = (b"US", b"UL", b"SS", b"SQ", b"OB", b"UN", b"FD", b"PN", b"DA", b"ZZ", b"\x00\x00")


def _with_phi(name: str, *, uncompressed: bool) -> bytes:
    ds = pydicom.dcmread(samples.get(name))
    if uncompressed:
        with PixelDecoder() as decoder:
            arr = decoder.decode(ds, name, timeout=120)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = arr.tobytes()
        for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
            if keyword in ds:
                delattr(ds, keyword)
    ds.PatientName, ds.PatientID = PHI[0], PHI[1]
    ds.AccessionNumber, ds.InstitutionName = PHI[2], PHI[3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.dcm"
        ds.save_as(path, enforce_file_format=True)
        return path.read_bytes()


SEEDS = {
    "jpeg": _with_phi("siim_monochrome2.dcm", uncompressed=False),
    "native": _with_phi("siim_monochrome2.dcm", uncompressed=True),
    "monochrome1": _with_phi("siim_true_monochrome1.dcm", uncompressed=False),
}
# (group, element) little-endian tag bytes of elements whose VR a mutation may change.
TAGS = {
    "PatientName": b"\x10\x00\x10\x00",
    "PatientID": b"\x10\x00\x20\x00",
    "Rows": b"\x28\x00\x10\x00",
    "Columns": b"\x28\x00\x11\x00",
    "BitsAllocated": b"\x28\x00\x00\x01",
    "PhotometricInterpretation": b"\x28\x00\x04\x00",
    "PixelData": b"\xe0\x7f\x10\x00",
}


def run_batch(blobs: list[bytes]) -> None:
    run_blobs(blobs, ".dcm")


def test_every_pydicom_test_file() -> None:
    from pydicom.data import get_testdata_files

    paths = sorted(Path(p) for p in get_testdata_files() if Path(p).is_file())
    assert len(paths) > 100
    code, records, stderr = run_analyze(paths)
    check_contract(paths, code, records, stderr)
    # They are CT, MR, RT, SR and colour test objects, not chest films: none gets a reading.
    assert code == 2 and not any(r["analysed"] for r in records)


def test_the_seeds_themselves_are_read() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{name}.dcm" for name in SEEDS]
        for path, blob in zip(paths, SEEDS.values(), strict=True):
            path.write_bytes(blob)
        code, records, stderr = run_analyze(paths)
    check_contract(paths, code, records, stderr)
    assert code == 0 and records[0]["metadata"]["patient_id"] == PHI[1]


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.integers(0, 200_000))
def test_truncated_copies(seed: str, cut: int) -> None:
    blob = SEEDS[seed]
    run_batch([blob[: min(cut, len(blob) - 1)], blob])


@SETTINGS
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=12),
)
def test_flipped_bytes_in_the_header(seed: str, flips: list[tuple[int, int]]) -> None:
    blob = bytearray(SEEDS[seed])
    for pos, value in flips:
        blob[pos] = value
    run_batch([bytes(blob)])


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.sampled_from(sorted(TAGS)), st.sampled_from(VRS))
def test_wrong_vrs(seed: str, keyword: str, vr: bytes) -> None:
    blob = SEEDS[seed]
    at = blob.find(TAGS[keyword], 132)
    assert at > 0, keyword
    run_batch([blob[: at + 4] + vr + blob[at + 6 :]])


# (keyword, value to set, bytes to put where the value was written): a value pydicom
# refuses to write ("lots" frames) is written as a same-length placeholder, then patched.
ABSURD = [
    ("Rows", 0, None),
    ("Rows", 65535, None),
    ("Columns", 3, None),
    ("BitsAllocated", 3, None),
    ("BitsStored", 40, None),
    ("SamplesPerPixel", 3, None),
    ("PhotometricInterpretation", "HSV", None),
    ("NumberOfFrames", "9999", b"lots"),
    ("NumberOfFrames", 2, None),
    ("PixelRepresentation", 7, None),
    ("WindowWidth", 0, None),
    ("RescaleSlope", "7777", b"nan "),
    ("PixelData", None, None),
]


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.sampled_from(ABSURD))
def test_absurd_pixel_module_values(seed: str, change: tuple[str, object, bytes | None]) -> None:
    keyword, value, patch = change
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed.dcm"
        path.write_bytes(SEEDS[seed])
        ds = pydicom.dcmread(path)
        if value is None:
            delattr(ds, keyword)
        else:
            if keyword == "WindowWidth":
                ds.WindowCenter = 100
            setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)
        blob = path.read_bytes()
    if patch is not None:  # the header comes before the pixels: its value is found first
        at = blob.find(str(value).encode())
        assert 0 < at < blob.find(TAGS["PixelData"], 132)
        blob = blob[:at] + patch + blob[at + len(patch) :]
    run_batch([blob, SEEDS[seed]])

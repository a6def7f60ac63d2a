"""Image input: every transfer syntax and pixel-module case on real DICOM files made
from the shipped SIIM sample, PNG/JPEG, and one-line errors naming the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from imaging_io_cases import (
    jpeg_lossless_with_gdcm,
    reference_pixels,
    save,
    siim_raw,
    uncompressed,
)
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from radpilot import samples
from radpilot.errors import DicomError, InputError
from radpilot.imaging.dicomio import iter_image_files, read_image

# JPEG decoders (pylibjpeg, gdcm, Pillow) may round differently by one grey level.
JPEG_ROUNDING = 1.0 / 254.0 + 1e-6


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return reference_pixels()


def _compressed(tmp: Path, syntax: str) -> Path:
    src = save(uncompressed(), tmp / "native.dcm")
    if syntax == "native":
        return src
    if syntax == "jpeg-baseline":
        return samples.get("siim_monochrome2.dcm")
    if syntax == "jpeg-lossless":
        return jpeg_lossless_with_gdcm(src, tmp / "jpegll.dcm")
    uid, kwargs = {
        "rle": (RLELossless, {}),
        "jpeg2000-lossless": (JPEG2000Lossless, {}),
        "jpeg-ls-lossless": (JPEGLSLossless, {}),
        "jpeg2000-lossy": (JPEG2000, {"j2k_cr": [20]}),
    }[syntax]
    ds = pydicom.dcmread(src)
    ds.compress(uid, **kwargs)
    return save(ds, tmp / f"{syntax}.dcm")


# syntax, expected transfer syntax name fragment, max abs error vs reference
SYNTAX_CASES = [
    ("native", "Explicit VR Little Endian", 1e-6),
    ("jpeg-baseline", "JPEG Baseline", 1e-6),
    ("jpeg-lossless", "JPEG Lossless", 1e-6),
    ("rle", "RLE Lossless", 1e-6),
    ("jpeg2000-lossless", "JPEG 2000 Image Compression (Lossless Only)", 1e-6),
    ("jpeg-ls-lossless", "JPEG-LS Lossless", 1e-6),
    ("jpeg2000-lossy", "JPEG 2000 Image Compression", 0.06),
]


@pytest.mark.parametrize(("syntax", "name", "tolerance"), SYNTAX_CASES)
def test_transfer_syntaxes_decode_to_the_same_image(
    tmp_path: Path, reference: np.ndarray, syntax: str, name: str, tolerance: float
) -> None:
    path = _compressed(tmp_path, syntax)
    assert name in pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID.name
    rg = read_image(path)
    assert rg.pixels.dtype == np.float32 and rg.pixels.shape == (1024, 1024)
    assert 0.0 <= rg.pixels.min() and rg.pixels.max() <= 1.0
    assert np.abs(rg.pixels - reference).max() <= tolerance


def test_true_monochrome1_pair_gives_the_same_pixels_and_prediction(reference: np.ndarray) -> None:
    """MONOCHROME1 with inverted stored values must read as the MONOCHROME2 image."""
    from radpilot.imaging import registry

    mono2 = read_image(samples.get("siim_monochrome2.dcm"))
    mono1 = read_image(samples.get("siim_true_monochrome1.dcm"))
    assert mono1.meta.photometric == "MONOCHROME1" and mono2.meta.photometric == "MONOCHROME2"
    # Stated tolerance: one grey level of 254 (JPEG baseline decoder rounding).
    assert np.abs(mono1.pixels - mono2.pixels).max() <= JPEG_ROUNDING
    model = registry.get(registry.DEFAULT_MODEL)
    p = model.predict([mono2, mono1])
    assert abs(float(p[0, 0]) - float(p[1, 0])) < 1e-3


def test_shared_uncompressed_monochrome1_file_matches(shared_dir: Path) -> None:
    original = shared_dir / "data/images/samples/siim_true_monochrome1.dcm"
    mono1 = read_image(original)
    mono2 = read_image(samples.get("siim_monochrome2.dcm"))
    assert np.abs(mono1.pixels - mono2.pixels).max() <= JPEG_ROUNDING


def test_fake_monochrome1_reads_as_the_negative() -> None:
    normal = read_image(samples.get("siim_monochrome2.dcm")).pixels
    negative = read_image(samples.get("Fake_MONOHR1.dcm")).pixels
    assert np.abs(negative - (1.0 - normal)).max() < 1e-5
    assert np.corrcoef(normal.ravel(), negative.ravel())[0, 1] < -0.99


def _window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1, written out independently of pydicom."""
    return np.clip((values - (center - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0)


def _voi_lut_item(bits: int = 16) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [256, 0, bits]
    lut = np.rint((2**bits - 1) * (np.arange(256) / 255.0) ** 0.5).astype(np.uint16)
    item.LUTData = lut.astype("<u2").tobytes()  # OW: 16-bit entries
    return item


def _case_16bit_rescale() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = siim_raw().astype(np.uint16) * 16  # 0..4064: 12 bits used
    ds = uncompressed(raw, BitsStored=12, HighBit=11, RescaleSlope=0.5, RescaleIntercept=-100)
    return ds, lambda r: (r - r.min()) / (r.max() - r.min())


def _case_window() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds = uncompressed(WindowCenter=100, WindowWidth=80)
    return ds, lambda r: _window(r, 100, 80)


def _case_window_monochrome1() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds = uncompressed(WindowCenter=100, WindowWidth=80, PhotometricInterpretation="MONOCHROME1")
    return ds, lambda r: 1.0 - _window(r, 100, 80)


def _case_window_after_rescale() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = siim_raw().astype(np.uint16) * 16
    ds = uncompressed(
        raw,
        BitsStored=12,
        HighBit=11,
        RescaleSlope=2,
        RescaleIntercept=-1000,
        WindowCenter=1500,
        WindowWidth=2000,
    )
    # Window in modality units over [slope*0 + b, slope*4095 + b] -> output range.
    return ds, lambda r: _window(r * 16 * 2 - 1000, 1500, 2000)


def _case_voi_lut() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds = uncompressed()
    ds.VOILUTSequence = [_voi_lut_item()]
    lut = np.rint(65535 * (np.arange(256) / 255.0) ** 0.5)
    return ds, lambda r: lut[r.astype(int)] / 65535.0


def _case_voi_lut_wins_over_window() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds, expected = _case_voi_lut()
    ds.WindowCenter, ds.WindowWidth = 10, 5
    return ds, expected


def _case_signed() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = (siim_raw().astype(np.int16) - 128).astype(np.int16)
    ds = uncompressed(raw, PixelRepresentation=1)
    return ds, lambda r: (r - r.min()) / (r.max() - r.min())


def _case_rgb_gray() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = siim_raw()
    ds = uncompressed(np.stack([raw, raw, raw], axis=-1))
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    return ds, lambda r: r / 255.0


def _case_rgb_red_only() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = siim_raw()
    zero = np.zeros_like(raw)
    ds = uncompressed(np.stack([raw, zero, zero], axis=-1))
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    return ds, lambda r: 0.299 * r / 255.0  # BT.601 luma weight of red


def _case_padding() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    raw = siim_raw().astype(np.uint16) * 16
    raw[:, :40] = 4095  # a bright padded border must not stretch the range
    ds = uncompressed(raw, BitsStored=12, HighBit=11, PixelPaddingValue=4095)
    ds["PixelPaddingValue"].VR = "US"  # 'US or SS' in the dictionary: unsigned pixels here

    def expected(r: np.ndarray) -> np.ndarray:
        inner = r[:, 40:]
        out = (r - inner.min()) / (inner.max() - inner.min())
        out[:, :40] = 0.0
        return out

    return ds, expected


def _case_padding_monochrome1() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds, expected = _case_padding()
    ds.PhotometricInterpretation = "MONOCHROME1"

    def inverted(r: np.ndarray) -> np.ndarray:
        out = 1.0 - expected(r)
        out[:, :40] = 0.0
        return out

    return ds, inverted


def _case_palette() -> tuple[Dataset, Callable[[np.ndarray], np.ndarray]]:
    ds = uncompressed(PhotometricInterpretation="PALETTE COLOR")
    lut = (np.arange(256, dtype=np.uint16) * 257).astype("<u2").tobytes()  # gray ramp
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut)
    return ds, lambda r: r / 255.0


PIXEL_CASES = {
    "16-bit, BitsStored 12, rescale slope/intercept": _case_16bit_rescale,
    "window center/width": _case_window,
    "window center/width, MONOCHROME1": _case_window_monochrome1,
    "window after rescale": _case_window_after_rescale,
    "VOI LUT sequence": _case_voi_lut,
    "VOI LUT sequence preferred over window": _case_voi_lut_wins_over_window,
    "signed pixels": _case_signed,
    "pixel padding excluded, shown black": _case_padding,
    "pixel padding, MONOCHROME1": _case_padding_monochrome1,
    "RGB gray": _case_rgb_gray,
    "RGB red only -> luma": _case_rgb_red_only,
    "palette colour (gray ramp)": _case_palette,
}


@pytest.mark.parametrize("case", list(PIXEL_CASES))
def test_pixel_module_cases(tmp_path: Path, case: str) -> None:
    ds, expected_of = PIXEL_CASES[case]()
    path = save(ds, tmp_path / "case.dcm")
    rg = read_image(path)
    expected = expected_of(siim_raw().astype(np.float64))
    assert rg.pixels.shape == (1024, 1024) and rg.pixels.dtype == np.float32
    assert np.abs(rg.pixels - expected).max() < 1e-4, case


def test_metadata_is_kept() -> None:
    meta = read_image(samples.get("siim_monochrome2.dcm")).meta
    assert meta.source_format == "dicom"
    assert meta.patient_id == "16d7f894-55d7-4d95-8957-d18987f0e981"
    assert meta.study_uid == "1.2.276.0.7230010.3.1.2.8323329.6904.1517875201.850818"
    assert meta.sop_uid == "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819"
    assert meta.series_uid and meta.study_date == "19010101"
    assert (meta.modality, meta.view_position, meta.body_part) == ("CR", "PA", "CHEST")
    assert meta.extra["pixel_spacing"] == [0.168, 0.168]


def test_view_code_sequence_fallback(tmp_path: Path) -> None:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "R-10206", "SRT"
    code.CodeMeaning = "latero-medial"
    ds = uncompressed(ViewPosition="")
    ds.ViewCodeSequence = [code]
    assert read_image(save(ds, tmp_path / "v.dcm")).meta.view_position == "LATERAL"


def test_png_and_jpeg(tmp_path: Path) -> None:
    png = read_image(samples.get("nih_normal.png"))
    arr = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"), dtype=np.float64)
    assert png.meta.source_format == "png" and png.meta.patient_id is None
    assert np.abs(png.pixels - arr / 255.0).max() < 1e-6
    rgb = Image.open(samples.get("nih_normal.png")).convert("RGB")
    rgb.save(tmp_path / "x.jpg", quality=95)
    jpg = read_image(tmp_path / "x.jpg")
    assert jpg.meta.source_format == "jpeg" and jpg.meta.photometric == "RGB"
    assert np.abs(jpg.pixels - png.pixels).mean() < 0.01
    sixteen = (arr * 257).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "x16.png")
    assert np.abs(read_image(tmp_path / "x16.png").pixels - arr / 255.0).max() < 1e-4


def _multiframe(tmp: Path) -> Path:
    raw = siim_raw()
    ds = uncompressed(np.concatenate([raw, raw]), NumberOfFrames=2)
    ds.Rows = 1024
    return save(ds, tmp / "multi.dcm")


def _no_pixels(tmp: Path) -> Path:
    ds = uncompressed()
    del ds.PixelData
    return save(ds, tmp / "nopixels.dcm")


def _truncated(fraction: float, source: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        src = save(uncompressed(), tmp / "n.dcm") if source == "native" else samples.get(source)
        data = src.read_bytes()
        out = tmp / "truncated.dcm"
        out.write_bytes(data[: int(len(data) * fraction)])
        return out

    return make


def _text_as_dcm(tmp: Path) -> Path:
    (tmp / "notes.dcm").write_text("this is not a DICOM file\n" * 20)
    return tmp / "notes.dcm"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.dcm").write_bytes(b"")
    return tmp / "empty.dcm"


def _bad_photometric(tmp: Path) -> Path:
    return save(uncompressed(PhotometricInterpretation="HSV"), tmp / "hsv.dcm")


def _bad_window(tmp: Path) -> Path:
    return save(uncompressed(WindowCenter=100, WindowWidth=0), tmp / "w0.dcm")


def _truncated_png(tmp: Path) -> Path:
    data = samples.get("nih_normal.png").read_bytes()
    (tmp / "cut.png").write_bytes(data[: len(data) // 3])
    return tmp / "cut.png"


def _unknown(tmp: Path) -> Path:
    (tmp / "data.bin").write_bytes(b"\x00\x01" * 100)
    return tmp / "data.bin"


def _missing(tmp: Path) -> Path:
    return tmp / "nowhere.dcm"


ERROR_CASES = [
    ("multi-frame", _multiframe, DicomError, "multi-frame image \\(2 frames\\)"),
    ("no pixel data", _no_pixels, DicomError, "no pixel data"),
    ("truncated native pixels", _truncated(0.6, "native"), DicomError, "cannot decode pixel data"),
    ("truncated JPEG", _truncated(0.5, "siim_monochrome2.dcm"), DicomError, "truncated file"),
    ("truncated J2K", _truncated(0.9, "siim_true_monochrome1.dcm"), DicomError, "truncated"),
    ("truncated header", _truncated(0.0025, "siim_monochrome2.dcm"), DicomError, "truncated"),
    ("text with .dcm suffix", _text_as_dcm, DicomError, "not a DICOM file"),
    ("empty .dcm", _empty, DicomError, "not a DICOM file"),
    ("unsupported photometric", _bad_photometric, DicomError, "PhotometricInterpretation 'HSV'"),
    ("window width 0", _bad_window, DicomError, "invalid window"),
    ("truncated PNG", _truncated_png, InputError, "corrupt or truncated PNG"),
    ("unknown content", _unknown, InputError, "not a DICOM, PNG or JPEG"),
    ("missing file", _missing, InputError, "no such file"),
]


@pytest.mark.parametrize(
    ("case", "make", "error", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_bad_files_give_one_line_errors_naming_the_file(
    tmp_path: Path, case: str, make: Callable[[Path], Path], error: type, pattern: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(error, match=pattern) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path)), case
    assert "\n" not in message


def test_folder_expansion(tmp_path: Path) -> None:
    save(uncompressed(), tmp_path / "IM0001")  # PACS export without suffix
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.png").write_bytes(samples.get("nih_normal.png").read_bytes())
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.dcm").write_text("skip")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files([tmp_path])]
    assert found == ["IM0001", "sub/b.png"]
    assert list(iter_image_files([tmp_path / "notes.txt"])) == [tmp_path / "notes.txt"]

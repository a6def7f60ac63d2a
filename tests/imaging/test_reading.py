"""Reading: each input opened once, 16-bit PNG scaling (sBIT or the largest value's bit
depth), EXIF orientation, the pixel limit and downsampling while decoding."""

from __future__ import annotations

import builtins
import io
import json
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from imaging_io_cases import BrightRegionModel, save, uncompressed
from PIL import Image, ImageOps

from radpilot import samples
from radpilot.errors import InputError
from radpilot.imaging.analyze import analyze
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.outputs import ImageOutputs
from radpilot.imaging.pixels import ReadLimits, block_mean
from radpilot.interop.dicom_outputs import DicomOutputs


def _png16(values: np.ndarray, sbit: int | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(buf, "PNG")
    png = buf.getvalue()
    if sbit is None:
        return png
    body = b"sBIT" + bytes([sbit])
    chunk = struct.pack(">I", 1) + body + struct.pack(">I", zlib.crc32(body))
    return png[:33] + chunk + png[33:]


def _twelve_bit() -> np.ndarray:
    film = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"), dtype=np.float64)
    return np.rint(film / 255.0 * 4095.0)  # 0..4095: 12-bit data in 16-bit samples


@pytest.mark.parametrize(
    ("sbit", "scale", "divisor", "note"),
    [
        (None, 1, 4095, "no sBIT; largest value {top} fits 12 bits: /4095"),
        (12, 1, 4095, "16-bit PNG, sBIT 12: /4095"),
        (12, 16, 65535, "scaled to full range (sBIT 12): /65535"),  # as the PNG spec says
        (None, 16, 65535, "no sBIT; largest value {top} fits 16 bits: /65535"),
    ],
)
def test_a_16_bit_png_is_scaled_by_its_real_bit_depth(
    tmp_path: Path, sbit: int | None, scale: int, divisor: int, note: str
) -> None:
    values = _twelve_bit() * scale
    path = tmp_path / "x16.png"
    path.write_bytes(_png16(values, sbit))
    image = read_image(path)
    np.testing.assert_allclose(image.pixels, values / divisor, atol=1e-6)
    assert note.format(top=int(values.max())) in image.meta.extra["scaling"]
    # Not nearly black: the film reads as the 8-bit original does.
    eight = read_image(samples.get("nih_normal.png")).pixels
    assert abs(float(image.pixels.mean()) - float(eight.mean())) < 0.01


def test_the_scaling_is_reported_with_the_result(tmp_path: Path) -> None:
    path = tmp_path / "x16.png"
    path.write_bytes(_png16(_twelve_bit()))
    [result] = analyze([path], model=BrightRegionModel())
    assert result.to_dict()["metadata"]["scaling"].endswith(" fits 12 bits: /4095")
    assert result.notes == ("intensity scaling: " + result.meta.extra["scaling"],)  # type: ignore[union-attr]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    film = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))[:300, :200]
    img = Image.fromarray(film)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    img.save(path, exif=exif, quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), dtype=np.float32) / 255.0
    image = read_image(path)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)
    assert (image.meta.extra["rows"], image.meta.extra["columns"]) == expected.shape


def test_an_image_above_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    limits = ReadLimits(max_pixels=512 * 511)
    for name in ("nih_normal.png", "siim_monochrome2.dcm"):
        with pytest.raises(InputError) as info:
            read_image(samples.get(name), limits=limits)
        assert "above the limit of 0.3 MP (max_pixels)" in str(info.value)
    assert read_image(samples.get("nih_normal.png"), limits=ReadLimits(max_pixels=512 * 512))


def test_limits_name_their_parameters() -> None:
    with pytest.raises(ValueError, match="max_pixels must be 1 or more"):
        ReadLimits(max_pixels=0)


@pytest.mark.parametrize("kind", ["png", "jpeg", "dicom"])
def test_large_images_are_reduced_while_decoding(tmp_path: Path, kind: str) -> None:
    film = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))
    big = np.asarray(Image.fromarray(film).resize((1500, 1203), Image.Resampling.BILINEAR))
    if kind == "dicom":
        path = save(uncompressed(big.astype(np.uint8)), tmp_path / "big.dcm")
    else:
        path = tmp_path / f"big.{'jpg' if kind == 'jpeg' else 'png'}"
        Image.fromarray(big).save(path, quality=95)
    image = read_image(path, limits=ReadLimits(working_side=512))
    assert max(image.pixels.shape) <= 512 and image.meta.extra["downsampled"] >= 2.9
    assert (image.meta.extra["rows"], image.meta.extra["columns"]) == (1203, 1500)
    if kind == "png":  # exactly the 3 x 3 block means
        expected = block_mean(big, 3) / 255.0
        np.testing.assert_allclose(image.pixels, expected, atol=1e-6)


def test_boxes_of_a_reduced_image_are_in_source_pixels(tmp_path: Path) -> None:
    film = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))
    path = tmp_path / "big.png"
    Image.fromarray(np.kron(film, np.ones((3, 3), dtype=np.uint8))).save(path)  # 1536 px
    small = analyze([samples.get("nih_normal.png")], model=BrightRegionModel())[0]
    [big] = analyze([path], model=BrightRegionModel(), limits=ReadLimits(working_side=512))
    box, ref = big.findings[0].box, small.findings[0].box
    assert box is not None and ref is not None
    assert (box.x, box.y, box.width, box.height) == (
        3 * ref.x,
        3 * ref.y,
        3 * ref.width,
        3 * ref.height,
    )
    assert any("read at 1/3 size (1536x1536 px source)" in n for n in big.notes)


def test_analyze_opens_each_input_file_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    save(uncompressed(ViewPosition="PA"), folder / "IM0001")  # a PACS file without suffix
    (folder / "README").write_text("not an image")
    inputs = [
        samples.get("siim_monochrome2.dcm"),
        samples.get("nih_normal.png"),
        save(uncompressed(ViewPosition="LL"), tmp_path / "lateral.dcm"),
        tmp_path / "broken.dcm",
        folder,
    ]
    (tmp_path / "broken.dcm").write_bytes(b"\0" * 300)
    opened: Counter[str] = Counter()
    real_open = builtins.open

    def counting_open(file: object, *args: object, **kwargs: object) -> object:
        opened[str(file)] += 1
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    writer = ImageOutputs(tmp_path / "out", dicom=DicomOutputs())
    results = analyze(inputs, model=BrightRegionModel(), writer=writer, all_heatmaps=True)
    files = [*map(str, inputs[:4]), str(folder / "IM0001"), str(folder / "README")]
    assert {f: opened[f] for f in files} == dict.fromkeys(files, 1)
    assert [Path(r.path).name for r in results] == [
        "siim_monochrome2.dcm", "nih_normal.png", "lateral.dcm", "broken.dcm", "IM0001"
    ]  # fmt: skip
    # The DICOM outputs were written from the datasets read once, not by re-reading.
    assert Path(results[0].outputs["sr"]).is_file() and Path(results[4].outputs["sr"]).is_file()
    written = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert len(written) == len(results)

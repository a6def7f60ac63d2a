"""The quality gate on real radiographs (none may be gated) and on bad images (all must
be): the table in BENCHMARKS.md ("Image quality gate").

Every image goes through the path ``radpilot analyze`` takes: written to a file (PNG, or
its own DICOM/JPEG), read by ``read_image``, then the header checks and ``quality.check``.

Real radiographs: the bundled samples, ``../shared/data/images/samples`` (NIH, SIIM,
COVID-19, TBX11K), the 75 serial radiographs, and the PneumoniaMNIST validation split
(524 pediatric films at 28 px; the orientation model was trained on the train split only,
and none of the other sets was trained on). Bad images: black, white, grey, noise of three
kinds, smooth random fields (5 at each of 4 scales), a ramp, a checkerboard, every real sample and serial film
rotated by 90, 180 and 270 degrees, and the 26 pictures shipped with scikit-image
(photographs, microscopy, a retina, a CT phantom, text, textures).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/image_quality.py
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from radpilot import samples
from radpilot.devdata import shared_dir
from radpilot.imaging import quality
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.studies import check_acquisition

BUNDLED = (
    "siim_monochrome2.dcm",
    "siim_true_monochrome1.dcm",
    "Fake_MONOHR1.dcm",
    "nih_cardiomegaly.png",
    "nih_normal.png",
    "serial_p270_current_day-1.png",
    "serial_p270_prior_day-23.png",
)


def flags_of(path: Path) -> list[str]:
    """Codes of the flags ``analyze`` would raise for this file (blocking ones first,
    non-blocking ones marked with ``~``), header checks included."""
    image = read_image(path)
    flags = [*check_acquisition(image.meta)]
    if not any(f.blocking for f in flags):
        flags += quality.check(image)
    return [
        f.code.value if f.blocking else f"~{f.code.value}"
        for f in flags
        if f.code.value not in ("view_unknown",)
    ]


def _save(pixels: np.ndarray, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    arr = (
        pixels
        if pixels.dtype == np.uint8
        else np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)
    )
    Image.fromarray(arr).save(path)
    return path


def real_sets(shared: Path | None) -> dict[str, list[Path]]:
    sets = {"bundled samples": [samples.get(n) for n in BUNDLED]}
    if shared is not None:
        folder = shared / "data/images/samples"
        sets["shared samples"] = sorted(
            p for p in folder.iterdir() if p.suffix in (".png", ".jpg", ".dcm")
        )
        sets["serial radiographs"] = sorted((shared / "data/images/serial").glob("*.png"))
    return sets


def pneumoniamnist_val(shared: Path, folder: Path) -> list[Path]:
    with np.load(shared / "data/images/pneumoniamnist/pneumoniamnist.npz") as npz:
        images = npz["val_images"]
    return [_save(im, folder, f"val{i:03d}") for i, im in enumerate(images)]


def synthetic(folder: Path) -> Iterator[tuple[str, Path]]:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    shape = (512, 512)
    yield "black", _save(np.zeros(shape), folder, "black")
    yield "white", _save(np.ones(shape), folder, "white")
    yield "grey", _save(np.full(shape, 0.5), folder, "grey")
    yield "uniform noise", _save(rng.random(shape), folder, "uniform")
    yield "gaussian noise", _save(np.clip(rng.normal(0.5, 0.2, shape), 0, 1), folder, "gauss")
    yield "salt and pepper", _save((rng.random(shape) < 0.5).astype(float), folder, "salt")
    for sigma in (4, 8, 16, 32):
        for i in range(5):
            field = ndimage.gaussian_filter(rng.random(shape), sigma)
            name = f"field{sigma}_{i}"
            yield (
                f"smooth random field, σ {sigma} px",
                _save((field - field.min()) / np.ptp(field), folder, name),
            )
    yield "ramp", _save(np.tile(np.linspace(0, 1, shape[1]), (shape[0], 1)), folder, "ramp")
    yield "checkerboard", _save((np.indices(shape).sum(0) // 64 % 2).astype(float), folder, "check")


def rotated(paths: list[Path], folder: Path) -> Iterator[tuple[int, Path]]:
    for i, path in enumerate(paths):
        pixels = read_image(path).pixels
        for k in (1, 2, 3):
            yield k * 90, _save(np.rot90(pixels, k), folder, f"rot{k * 90}_{i:03d}")


def pictures() -> list[Path]:
    root = Path(str(resources.files("skimage") / "data"))
    return sorted(p for p in root.iterdir() if p.suffix in (".png", ".jpg"))


def _table(title: str, rows: list[tuple[str, int, int, Counter[str]]]) -> Table:
    table = Table(title=title)
    for col in ("set", "images", "gated", "flags (count)"):
        table.add_column(col)
    for name, n, gated, codes in rows:
        table.add_row(
            name, str(n), str(gated), ", ".join(f"{c} {k}" for c, k in codes.most_common())
        )
    return table


def _row(name: str, paths: list[Path]) -> tuple[str, int, int, Counter[str]]:
    codes: Counter[str] = Counter()
    gated = 0
    for path in paths:
        found = flags_of(path)
        codes.update(found)
        gated += any(not c.startswith("~") for c in found)
    return name, len(paths), gated, codes


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    console = Console(width=140)
    shared = shared_dir() if shared_dir().is_dir() else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = real_sets(shared)
        if shared is not None:
            sets["PneumoniaMNIST val (28 px)"] = pneumoniamnist_val(shared, folder)
        console.print(
            _table("Real radiographs: none may be gated", [_row(k, v) for k, v in sets.items()])
        )
        films = sets.get("shared samples", []) + sets.get("serial radiographs", [])
        films = films or sets["bundled samples"]
        by_angle: dict[int, list[Path]] = {}
        for angle, path in rotated(films, folder):
            by_angle.setdefault(angle, []).append(path)
        kinds: dict[str, list[Path]] = {}
        for name, path in synthetic(folder):
            kinds.setdefault(name, []).append(path)
        bad = [_row(name, paths) for name, paths in kinds.items()]
        bad += [_row(f"real films rotated {a}°", paths) for a, paths in sorted(by_angle.items())]
        pics = pictures()
        bad.append(_row("scikit-image pictures", pics))
        console.print(_table("Bad images: all must be gated", bad))
        detail = Table(title="scikit-image pictures, one by one")
        detail.add_column("picture")
        detail.add_column("flags")
        for path in pics:
            detail.add_row(path.name, ", ".join(flags_of(path)) or "[red]passes[/]")
        console.print(detail)


if __name__ == "__main__":
    main()

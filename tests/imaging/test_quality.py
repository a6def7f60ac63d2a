"""The quality gate: bad images are stopped with their own code and message, real
radiographs pass, a gated image never reaches the model nor an urgency tier, and the
gate's data file is strict."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from imaging_io_cases import BrightRegionModel
from PIL import Image

from radpilot import samples
from radpilot.datafiles import parse
from radpilot.errors import ChecksumError, VocabularyError
from radpilot.imaging import quality
from radpilot.imaging.analyze import analyze
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.results import UrgencyTier
from radpilot.imaging.rules import QUALITY, QualityRules


def _film() -> np.ndarray:
    return np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))


def _astronaut() -> np.ndarray:
    from importlib import resources

    return np.asarray(Image.open(str(resources.files("skimage") / "data" / "astronaut.png")))


_RNG = np.random.default_rng(7)
# name, the picture (uint8), codes that must block it, words its first message must hold
BAD: list[tuple[str, Callable[[], np.ndarray], set[str], str]] = [
    ("black", lambda: np.zeros((400, 400), np.uint8), {"no_contrast", "saturated"}, "no usable contrast"),
    ("white", lambda: np.full((400, 400), 255, np.uint8), {"no_contrast"}, "no usable contrast"),
    ("grey", lambda: np.full((400, 400), 128, np.uint8), {"no_contrast"}, "percentile intensities span 0.000"),
    ("noise", lambda: _RNG.integers(0, 256, (400, 400), dtype=np.uint8), {"noise_like"}, "noise"),
    ("checkerboard", lambda: (np.indices((400, 400)).sum(0) // 50 % 2 * 255).astype(np.uint8), {"saturated", "low_detail"}, "pure black or white"),
    ("turned 90° counter-clockwise", lambda: np.rot90(_film(), 1), {"rotated"}, "rotated 90° counter-clockwise"),
    ("upside down", lambda: np.rot90(_film(), 2), {"rotated"}, "rotated 180° (upside down)"),
    ("turned 90° clockwise", lambda: np.rot90(_film(), 3), {"rotated"}, "rotated 90° clockwise"),
    ("colour photograph", _astronaut, {"colour"}, "a colour picture, not a radiograph"),
    ("a 20 px crop", lambda: _film()[200:220, 200:220], {"too_small"}, "20 px on its short side"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "codes", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_images_are_gated_with_their_own_codes(
    tmp_path: Path, name: str, make: Callable[[], np.ndarray], codes: set[str], words: str
) -> None:
    path = tmp_path / "bad.png"
    Image.fromarray(np.ascontiguousarray(make())).save(path)
    flags = quality.check(read_image(path))
    blocking = [f for f in flags if f.blocking]
    assert codes <= {f.code.value for f in blocking}, [f.code.value for f in flags]
    assert words in blocking[0].message, blocking[0].message
    assert all(f.value is not None and f.limit is not None for f in blocking)


SAMPLES = [
    "siim_monochrome2.dcm",
    "siim_true_monochrome1.dcm",
    "nih_cardiomegaly.png",
    "nih_normal.png",
    "serial_p270_current_day-1.png",
    "serial_p270_prior_day-23.png",
]


@pytest.mark.parametrize("name", SAMPLES)
def test_the_bundled_radiographs_pass(name: str) -> None:
    assert quality.check(read_image(samples.get(name))) == []


def test_a_negative_is_flagged_not_blocked_unless_the_data_says_so() -> None:
    image = read_image(samples.get("Fake_MONOHR1.dcm"))
    [flag] = quality.check(image)
    assert flag.code.value == "inverted" and not flag.blocking and flag.value is not None
    assert flag.value > 0.99 and "photographic negative" in flag.message
    raw = copy.deepcopy(QUALITY.raw())
    raw["checks"]["inverted"]["blocking"] = True
    [flag] = quality.check(image, rules=parse(raw, QualityRules, "quality.json"))
    assert flag.blocking


def test_every_shared_radiograph_passes(shared_dir: Path) -> None:
    folder = shared_dir / "data/images"
    paths = sorted(
        p for p in (folder / "samples").iterdir() if p.suffix in (".png", ".jpg", ".dcm")
    )
    paths += sorted((folder / "serial").glob("*.png"))
    assert len(paths) == 85
    gated = {
        p.name: [f.code.value for f in quality.check(read_image(p)) if f.blocking] for p in paths
    }
    assert {name: codes for name, codes in gated.items() if codes} == {}


def test_gated_images_never_reach_the_model_nor_an_urgency_tier(tmp_path: Path) -> None:
    Image.fromarray(np.rot90(_film(), 2).copy()).save(tmp_path / "upside_down.png")
    Image.fromarray(np.zeros((300, 300), np.uint8)).save(tmp_path / "black.png")
    model = BrightRegionModel()
    results = analyze([tmp_path], model=model)
    assert model.calls == 0  # the model would have scored them: it never saw them
    for result in results:
        assert result.blocked and not result.findings and not result.analysed
        assert result.urgency is not None and result.urgency.tier is UrgencyTier.NOT_ASSESSED
        assert result.urgency.reasons[0].startswith("not scored: the image failed the gate (")


def test_the_embedded_model_no_longer_calls_a_black_image_urgent(tmp_path: Path) -> None:
    path = tmp_path / "black.png"
    Image.fromarray(np.zeros((512, 512), np.uint8)).save(path)
    [result] = analyze([path])  # before the gate: Pneumonia p = 0.999, urgent
    assert result.urgency is not None and result.urgency.tier is UrgencyTier.NOT_ASSESSED


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["checks"].pop("colour"), "quality.json: checks.colour: missing key"),
        (
            lambda r: r["checks"]["rotated"].update(message="rotated {angle}"),
            "message must use only {value}, {limit}, {detail}",
        ),
        (lambda r: r["checks"]["rotated"].update(limt=1), "checks.rotated.limt: unknown key"),
        (lambda r: r["orientation_model"].update(sha256="abc"), "orientation_model.sha256"),
    ],
)
def test_the_gate_data_file_is_strict(edit: Callable[[dict], object], message: str) -> None:  # type: ignore[type-arg]
    raw = copy.deepcopy(QUALITY.raw())
    edit(raw)
    with pytest.raises(VocabularyError) as info:
        parse(raw, QualityRules, "quality.json")
    assert message in str(info.value)


def test_orientation_weights_are_checked_against_their_pin() -> None:
    raw = copy.deepcopy(QUALITY.raw())
    raw["orientation_model"]["sha256"] = "0" * 64
    rules = parse(raw, QualityRules, "quality.json")
    with pytest.raises(ChecksumError, match=r"differ from quality\.json's pin"):
        quality.check(read_image(samples.get("nih_normal.png")), rules=rules)

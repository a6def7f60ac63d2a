"""The analysis pipeline: one result per file, flags, boxes, overlays, urgency; the
real embedded model end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from imaging_io_cases import BrightRegionModel, save, uncompressed
from PIL import Image

from radpilot import samples
from radpilot.datafiles import parse
from radpilot.errors import InputError, VocabularyError
from radpilot.imaging.analyze import analyze
from radpilot.imaging.model_api import ImageModel, Radiograph
from radpilot.imaging.outputs import ImageOutputs, write_json
from radpilot.imaging.overlay import Box, box_from_heatmap, jet, render_overlay
from radpilot.imaging.rules import UrgencyRule
from radpilot.imaging.urgency import UrgencyTier, default_rule, score_urgency


def test_fake_model_follows_the_protocol() -> None:
    assert isinstance(BrightRegionModel(), ImageModel)


@pytest.fixture()
def batch(tmp_path: Path) -> list[Path]:
    bad = tmp_path / "broken.dcm"
    bad.write_text("not dicom")
    return [
        samples.get("siim_monochrome2.dcm"),
        bad,
        save(uncompressed(ViewPosition="LL"), tmp_path / "lateral.dcm"),
        save(uncompressed(BodyPartExamined="KNEE"), tmp_path / "knee.dcm"),
        samples.get("nih_normal.png"),
        tmp_path / "missing.png",
    ]


def test_rows_out_equal_rows_in_and_bad_files_do_not_stop_the_batch(
    batch: list[Path], tmp_path: Path
) -> None:
    model = BrightRegionModel()
    results = analyze(batch, model=model, writer=ImageOutputs(tmp_path / "out"))
    assert [r.path for r in results] == [str(p) for p in batch]
    by_name = {Path(r.path).name: r for r in results}
    assert by_name["siim_monochrome2.dcm"].analysed
    assert by_name["nih_normal.png"].analysed
    assert "not a DICOM file" in (by_name["broken.dcm"].error or "")
    assert "no such file" in (by_name["missing.png"].error or "")
    lateral, knee = by_name["lateral.dcm"], by_name["knee.dcm"]
    assert not lateral.analysed and lateral.error is None
    assert [f.code.value for f in lateral.flags] == ["lateral_view"]
    assert not knee.analysed and knee.flags[0].code.value == "non_chest"
    assert model.calls == 1  # one batch for the two readable, suitable images
    dumped = [r.to_dict() for r in results]
    json.dumps(dumped)
    assert {"path", "model", "findings", "urgency", "flags", "error", "metadata"} <= set(dumped[0])


def test_positive_finding_gets_heatmap_box_and_overlay(tmp_path: Path) -> None:
    [result] = analyze(
        [samples.get("nih_normal.png")], model=BrightRegionModel(), writer=ImageOutputs(tmp_path)
    )
    pneumonia, pneumothorax = result.findings
    assert pneumonia.positive and pneumonia.probability >= pneumonia.threshold == 0.3
    assert pneumonia.box is not None and pneumonia.heatmap is not None
    overlay = np.asarray(Image.open(pneumonia.heatmap))
    # The image (512 x 512) under a caption band; the band's first row is black.
    assert overlay.shape[1:] == (512, 3) and 512 < overlay.shape[0] < 512 + 80
    assert not overlay[0].any()
    assert not pneumothorax.positive and pneumothorax.box is None and pneumothorax.heatmap is None
    assert result.urgency is not None and result.urgency.tier is UrgencyTier.ROUTINE


def test_all_heatmaps_and_no_output_folder() -> None:
    [result] = analyze(
        [samples.get("nih_normal.png")], model=BrightRegionModel(), all_heatmaps=True
    )
    assert all(f.box is not None and f.heatmap is None for f in result.findings)


def test_model_failure_on_one_image_is_isolated(tmp_path: Path) -> None:
    def explode(image: Radiograph) -> None:
        if image.meta.path.endswith("nih_normal.png"):
            raise RuntimeError("boom")

    model = BrightRegionModel(on_predict=explode)
    results = analyze(
        [samples.get("nih_normal.png"), samples.get("nih_cardiomegaly.png")], model=model
    )
    assert "model bright-region-test failed: RuntimeError: boom" in (results[0].error or "")
    assert results[1].analysed


def test_nothing_to_analyse_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no image files found"):
        analyze([tmp_path], model=BrightRegionModel())


def test_write_json_round_trips(tmp_path: Path) -> None:
    results = analyze([samples.get("nih_normal.png")], model=BrightRegionModel())
    data = json.loads(write_json(results, tmp_path / "a.json").read_text())
    assert data[0]["findings"][0]["name"] == "Pneumonia"
    assert "not a diagnosis" in data[0]["note"]


def _blob(shape: tuple[int, int], r: int, c: int, size: int, value: float) -> np.ndarray:
    heat = np.zeros(shape, dtype=np.float32)
    heat[r : r + size, c : c + size] = value
    return heat


BOX_CASES = [
    ("single blob", _blob((64, 64), 10, 20, 8, 1.0), Box(20, 10, 8, 8)),
    (
        "largest of two components, not the hottest",
        _blob((64, 64), 5, 5, 4, 1.0) + _blob((64, 64), 30, 30, 12, 0.8),
        Box(30, 30, 12, 12),
    ),
    (
        "below half max is not part of the box",
        _blob((32, 32), 0, 0, 10, 0.4) + _blob((32, 32), 2, 2, 3, 1.0),
        Box(2, 2, 3, 3),
    ),
    ("flat heatmap localises nothing", np.full((16, 16), 0.5, dtype=np.float32), None),
    ("all zero", np.zeros((16, 16), dtype=np.float32), None),
    ("non-finite", np.full((8, 8), np.nan, dtype=np.float32), None),
    ("not 2-D", np.zeros((2, 8, 8), dtype=np.float32), None),
]


@pytest.mark.parametrize(("case", "heat", "box"), BOX_CASES, ids=[c[0] for c in BOX_CASES])
def test_box_rule(case: str, heat: np.ndarray, box: Box | None) -> None:
    assert box_from_heatmap(heat) == box, case


def test_overlay_and_colormap() -> None:
    assert np.allclose(jet(np.array([0.0]))[0], [0.0, 0.0, 0.5])
    assert np.allclose(jet(np.array([1.0]))[0], [0.5, 0.0, 0.0])
    gray = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    heat = _blob((32, 32), 8, 8, 8, 1.0)
    out = render_overlay(gray, heat, Box(8, 8, 8, 8))
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert tuple(out[8, 10]) == (0, 255, 0)  # box outline
    assert out[0, 0, 0] == out[0, 0, 1] == out[0, 0, 2]  # cold region stays gray
    with pytest.raises(ValueError, match="heatmap shape"):
        render_overlay(gray, np.zeros((4, 4)))


RULE = parse(
    {
        "default_weight": 0.5,
        "urgent_score": 0.7,
        "critical": ["Pneumothorax"],
        "weights": {"Pneumothorax": 1.0, "Pneumonia": 0.8, "Pleural Effusion": 0.9},
    },
    UrgencyRule,
    "urgency.json",
)

URGENCY_CASES = [
    ({"Pneumothorax": 0.6}, {"Pneumothorax": True}, UrgencyTier.URGENT, "critical finding"),
    ({"Pneumothorax": 0.6}, {"Pneumothorax": False}, UrgencyTier.ROUTINE, "no critical"),
    ({"Pneumonia": 0.9}, {"Pneumonia": True}, UrgencyTier.URGENT, "0.72 >= 0.70"),
    ({"Pneumonia": 0.8}, {"Pneumonia": True}, UrgencyTier.ROUTINE, "0.64 < 0.70"),
    ({"Other": 1.0}, {"Other": True}, UrgencyTier.ROUTINE, "highest: Other"),
    # A model's spelling is the canonical finding's: "Effusion" weighs as "Pleural Effusion"
    # (0.9 x 0.9 = 0.81: urgent; with the default weight it would be 0.45, routine).
    ({"Effusion": 0.9}, {"Effusion": False}, UrgencyTier.URGENT, "(weight 0.90 x p 0.90)"),
    ({}, {}, UrgencyTier.ROUTINE, "no findings"),
]


@pytest.mark.parametrize(("probs", "positives", "tier", "reason"), URGENCY_CASES)
def test_urgency_rule(
    probs: dict[str, float], positives: dict[str, bool], tier: UrgencyTier, reason: str
) -> None:
    urgency = score_urgency(probs, positives, RULE)
    assert urgency.tier is tier
    assert any(reason in r for r in urgency.reasons)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"default_weight": 1, "urgent_score": 1, "critical": [], "weights": {}, "x": 1},
            "x: unknown key; allowed: $schema, critical, default_weight",
        ),
        ({"default_weight": 1, "urgent_score": 1, "critical": []}, "weights: missing key"),
        (
            {"default_weight": 1, "urgent_score": 1, "critical": [], "weights": {"Mass": -1}},
            "weights.Mass: Input should be greater than or equal to 0",
        ),
        (
            {"default_weight": 1, "urgent_score": 1, "critical": ["Effusion"], "weights": {}},
            "'Effusion' must be spelled 'Pleural Effusion'",
        ),
        (
            {"default_weight": 1, "urgent_score": 1, "critical": [], "weights": {"Bogus": 1}},
            "'Bogus' is not a known finding label",
        ),
    ],
)
def test_urgency_rule_file_is_strict(data: dict[str, object], message: str) -> None:
    with pytest.raises(VocabularyError) as info:
        parse(data, UrgencyRule, "urgency.json")
    assert str(info.value).startswith("urgency.json: ") and message in str(info.value)


def test_urgency_names_only_findings_a_registered_model_outputs() -> None:
    from radpilot.imaging import registry
    from radpilot.imaging.model_card import Task
    from radpilot.reports.labelnames import canonical_finding

    outputs = {
        canonical_finding(label)
        for name in registry.names(Task.CLASSIFICATION)
        for label in registry.card(name).labels
    }
    rule = default_rule()
    named = set(rule.weights) | set(rule.critical)
    assert named <= outputs, sorted(named - outputs)
    assert "Pneumothorax" in rule.critical


def test_shipped_urgency_rule_loads() -> None:
    rule = default_rule()
    assert "Pneumothorax" in rule.critical and rule.weight("Pneumonia") > 0


def test_embedded_model_end_to_end(tmp_path: Path) -> None:
    """The real bundled model: MONOCHROME1/2 agree, the negative differs."""
    names = ["siim_monochrome2.dcm", "siim_true_monochrome1.dcm", "Fake_MONOHR1.dcm"]
    results = analyze([samples.get(n) for n in names], writer=ImageOutputs(tmp_path))
    assert all(r.analysed and r.model == "pneumoniamnist-v1" for r in results)
    p = [r.findings[0].probability for r in results]
    assert [f.name for f in results[0].findings] == ["Pneumonia"]
    assert abs(p[0] - p[1]) < 1e-3
    # The negative (a MONOCHROME1 tag on MONOCHROME2 values) is read, flagged, not blocked.
    assert [f.code.value for f in results[2].flags] == ["inverted"]
    assert not results[0].flags and not results[2].flags[0].blocking


class _BrokenHeatmap(BrightRegionModel):
    def heatmap(self, image: Radiograph, label: str) -> np.ndarray:
        return np.zeros((3, 3), dtype=np.float32)  # wrong shape: the overlay must refuse it


def test_heatmap_failure_keeps_the_finding(tmp_path: Path) -> None:
    [result] = analyze(
        [samples.get("nih_normal.png")], model=_BrokenHeatmap(), writer=ImageOutputs(tmp_path)
    )
    assert result.analysed and result.findings[0].positive
    assert result.findings[0].heatmap is None and result.findings[0].box is None
    assert result.warnings[0].startswith("no heatmap for Pneumonia: ValueError: heatmap shape")


def test_large_batches_are_chunked_and_studies_span_chunks(tmp_path: Path) -> None:
    from radpilot.imaging import analyze as analyze_module

    study = "1.2.826.0.1.3680043.8.498.1"
    paths = [
        save(uncompressed(StudyInstanceUID=study, ViewPosition="AP"), tmp_path / f"{i:02d}.dcm")
        for i in range(analyze_module.BATCH_SIZE + 1)
    ]
    save(uncompressed(StudyInstanceUID=study, ViewPosition="PA"), tmp_path / "zz_pa.dcm")
    model = BrightRegionModel()
    results = analyze([tmp_path], model=model)
    assert model.calls == 2 and len(results) == len(paths) + 1
    assert {r.study for r in results} == {study}
    assert [Path(r.path).name for r in results if r.primary] == ["zz_pa.dcm"]

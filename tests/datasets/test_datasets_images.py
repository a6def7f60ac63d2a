"""Image datasets: heatmap boxes as proposals, a box redrawn by an annotator, and the
COCO, DICOM SEG and Hugging Face exports read back (COCO by its schema and pycocotools
when installed, SEG with highdicom, the image folder with PIL), also de-identified."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from radpilot import samples
from radpilot.commands.main import run
from radpilot.datasets.assign import assign
from radpilot.datasets.create import create_dataset
from radpilot.datasets.exports import ExportFormat, export
from radpilot.datasets.models import Action, Annotation, Box, Role, Task, decide
from radpilot.datasets.store import DatasetStore, open_datasets

IMAGES = ("nih_cardiomegaly.png", "siim_monochrome2.dcm")
DRAWN = Box(100, 120, 300, 200)


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DatasetStore, Path]]:
    db = tmp_path_factory.mktemp("images") / "a.db"
    store = open_datasets(db)
    ds = create_dataset(
        store, "img", Task.IMAGE_REGIONS, files=[samples.get(n) for n in IMAGES]
    ).dataset
    assign(store, ds, ["rad1"])
    dcm = next(it for it in store.items(ds) if it.ref.endswith(".dcm"))
    store.save(
        ds,
        Annotation(dcm.id, "rad1", Role.ANNOTATOR, (decide(dcm, 0, Action.BOX, box=DRAWN),), 7.5),
    )
    yield store, db
    store.close()


def test_image_items_have_boxed_proposals(regions: tuple[DatasetStore, Path]) -> None:
    store, _db = regions
    ds = store.get("img")
    items = store.items(ds)
    assert [it.ref for it in items] == list(IMAGES)
    for it in items:
        assert it.proposals and all(p.box is not None and p.score is not None for p in it.proposals)
        assert it.meta["rows"] and it.meta["columns"]


def _coco_ok(doc: dict) -> None:  # type: ignore[type-arg]
    """The COCO detection format's required fields and types (cocodataset.org/#format-data)."""
    assert set(doc) >= {"images", "annotations", "categories"}
    ids = {im["id"] for im in doc["images"]}
    cats = {c["id"] for c in doc["categories"]}
    for im in doc["images"]:
        assert isinstance(im["file_name"], str) and im["width"] > 0 and im["height"] > 0
    for a in doc["annotations"]:
        assert a["image_id"] in ids and a["category_id"] in cats and a["iscrowd"] in (0, 1)
        _x, _y, w, h = a["bbox"]
        assert w > 0 and h > 0 and a["area"] == w * h


def test_coco_reads_back(regions: tuple[DatasetStore, Path], tmp_path: Path) -> None:
    store, _db = regions
    out = tmp_path / "boxes.json"
    export(store, "img", ExportFormat.COCO, out)
    doc = json.loads(out.read_text())
    _coco_ok(doc)
    dcm_image = next(im for im in doc["images"] if im["file_name"].startswith("00002_"))
    boxes = [a["bbox"] for a in doc["annotations"] if a["image_id"] == dcm_image["id"]]
    assert [DRAWN.x, DRAWN.y, DRAWN.width, DRAWN.height] in boxes
    try:
        from pycocotools.coco import COCO
    except ImportError:
        return
    coco = COCO(str(out))
    assert len(coco.getImgIds()) == 2


def test_dicom_seg_reads_back_with_highdicom(
    regions: tuple[DatasetStore, Path], tmp_path: Path
) -> None:
    import highdicom as hd
    import pydicom

    store, _db = regions
    out = tmp_path / "seg"
    done = export(store, "img", ExportFormat.DICOM_SEG, out)
    assert done.rows == 1
    assert any("not a DICOM image" in p for p in done.problems)  # the PNG item
    (path,) = sorted(out.glob("*.seg.dcm"))
    seg = hd.seg.segread(path)
    src = pydicom.dcmread(samples.get("siim_monochrome2.dcm"), stop_before_pixels=True)
    assert seg.SeriesDescription.startswith("annotations: img")
    assert seg.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    (mask,) = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[src.SOPInstanceUID], combine_segments=True
    )
    assert mask.shape == (src.Rows, src.Columns)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()) == (
        DRAWN.x, DRAWN.y, DRAWN.width, DRAWN.height)  # fmt: skip
    assert (out / "README.md").is_file() and json.loads((out / "datasheet.json").read_text())[
        "items"
    ] == 2


def test_hf_folder_and_deidentified_export(
    regions: tuple[DatasetStore, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import Image

    _store, db = regions
    out = tmp_path / "hf"
    monkeypatch.setenv("RADPILOT_DEID_KEY", "test-key")
    code = run(["datasets", "export", "img", "--format", "hf", "-o", str(out), "--db", str(db),
                "--deidentify", "--licence", "CC-BY-4.0"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    rows = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["id"].startswith("rp-") for r in rows)
    assert not any(n in (out / "metadata.jsonl").read_text() for n in ("nih_cardiomegaly", "siim"))
    for r in rows:
        with Image.open(out / r["file_name"]) as im:
            assert im.mode == "L" and im.size[0] > 0
        assert len(r["objects"]["bbox"]) == len(r["objects"]["category"])
    # The `datasets` library itself, where installed (no dependency; tests/datasets is a
    # namespace folder of the same name, hence the attribute check).
    try:
        hf = importlib.import_module("datasets")
    except ImportError:
        hf = None
    if hasattr(hf, "load_dataset"):
        assert hf.load_dataset("imagefolder", data_dir=str(out), split="train").num_rows == 2
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n---") and "De-identified: yes" in card
    monkeypatch.delenv("RADPILOT_DEID_KEY")
    code = run(["datasets", "export", "img", "--format", "hf", "-o", str(tmp_path / "x"), "--db",
                str(db), "--deidentify"])  # fmt: skip
    assert code == 2 and "RADPILOT_DEID_KEY" in capsys.readouterr().err

"""torchxrayvision backends with RANDOMLY INITIALISED weights (the published
weights cannot be downloaded here): architecture, weights formats, install
through `models import`, preprocessing per card, predict, Grad-CAM, and the
cardiothoracic ratio from masks. Accuracy is not, and cannot be, tested here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from radpilot.errors import ModelNotAvailableError
from radpilot.imaging import cache, preprocess, registry, segmentation, xrv_backend
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph
from radpilot.imaging.nets import PneumoniaNet
from radpilot.imaging.onnx_backend import OnnxImageModel
from radpilot.imaging.torch_model import TorchImageModel

DENSENET = "densenet121-res224-all"


def _radiograph(pixels: np.ndarray) -> Radiograph:
    return Radiograph(pixels=pixels.astype(np.float32), meta=ImageMeta("cxr.png", "png"))


@pytest.fixture(scope="module")
def densenet_module_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole pickled DenseNet, the format torchxrayvision publishes."""
    import torchxrayvision as xrv

    torch.manual_seed(0)
    net = xrv.models.DenseNet(weights=None, num_classes=18)
    path = tmp_path_factory.mktemp("w") / "densenet-random.pt"
    torch.save(net, path)
    return path


@pytest.fixture(scope="module")
def densenet(densenet_module_file: Path, tmp_path_factory: pytest.TempPathFactory) -> ImageModel:
    cache_dir = tmp_path_factory.mktemp("cache")
    cache.import_file(
        registry.card(DENSENET),
        densenet_module_file,
        cache_dir=cache_dir,
        validate=registry.validator(DENSENET),
    )
    return registry.get(DENSENET, cache_dir=cache_dir)


def test_densenet_predict_and_heatmap(densenet: ImageModel) -> None:
    rng = np.random.default_rng(1)
    images = [_radiograph(rng.random((260, 300))), _radiograph(rng.random((224, 224)))]
    probs = densenet.predict(images)
    assert probs.shape == (2, 18) and np.all((probs >= 0) & (probs <= 1))
    # The card picks ONNX Runtime (faster in benchmarks/image_models.py); its logits
    # must match the torch network's (random weights saturate the sigmoid).
    assert isinstance(densenet, OnnxImageModel)
    x = preprocess.to_batch(images, densenet.card.preprocessing)
    with torch.no_grad():
        ref = densenet.torch_model.logits(x).numpy()
    (got,) = densenet.session.run(["logits"], {"image": x.numpy()})
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    assert list(densenet.labels) == registry.card(DENSENET).labels
    assert densenet.thresholds["Effusion"] == pytest.approx(0.103246614)
    heat = densenet.heatmap(images[0], "Cardiomegaly")
    assert heat.shape == (260, 300) and heat.dtype == np.float32
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    assert not heat[:, :20].any()  # outside the centre crop the model saw nothing


def test_state_dict_and_module_files_load_the_same(
    densenet_module_file: Path, tmp_path: Path
) -> None:
    from_module = xrv_backend.read_state_dict(densenet_module_file, what=DENSENET)
    sd_file = tmp_path / "sd.pt"
    torch.save({f"module.{k}": v for k, v in from_module.items()}, sd_file)  # DataParallel keys
    from_sd = xrv_backend.read_state_dict(sd_file, what=DENSENET)
    assert from_sd.keys() == from_module.keys()
    assert all(torch.equal(from_sd[k], from_module[k]) for k in from_sd)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("wrong-architecture", "weights do not fit densenet121-res224-all (DenseNet-121: "),
        (
            "arbitrary-pickle",
            "not a valid weights file for densenet121-res224-all (it holds Python objects "
            "other than tensors (",
        ),
        ("numpy-pickle", "it holds Python objects other than tensors (numpy."),
        ("plain-pickle", "(a Python pickle, not a PyTorch weights file)"),
        ("not-torch", "not a valid weights file for densenet121-res224-all (not a PyTorch file)"),
        ("empty", "(the file is empty or truncated)"),
        ("zip", "(not a PyTorch weights archive (a different or damaged zip file))"),
    ],
)
def test_wrong_files_are_refused_and_not_installed(
    tmp_path: Path, content: str, message: str
) -> None:
    import pickle
    import zipfile

    bad = tmp_path / "bad.pt"
    if content == "wrong-architecture":
        torch.save(PneumoniaNet(width=8).state_dict(), bad)
    elif content == "arbitrary-pickle":
        torch.save({"payload": print}, bad)  # a global the restricted unpickler must refuse
    elif content == "numpy-pickle":
        torch.save({"w": np.zeros(3)}, bad)
    elif content == "plain-pickle":
        bad.write_bytes(pickle.dumps({"a": 1}))
    elif content == "empty":
        bad.write_bytes(b"")
    elif content == "zip":
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("a.txt", "hello")
    else:
        bad.write_bytes(b"<html>proxy login page</html>")
    with pytest.raises(ModelNotAvailableError) as info:
        cache.import_file(
            registry.card(DENSENET),
            bad,
            cache_dir=tmp_path / "c",
            validate=registry.validator(DENSENET),
        )
    text = str(info.value)
    # One line, naming the user's file (not the cache's temporary copy) and the model,
    # and never passing on torch's advice to load with weights_only=False.
    assert text.startswith(f"{bad}: ") and message in text
    assert "\n" not in text and "weights_only" not in text and ".import" not in text
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file()]


@pytest.mark.parametrize(("name", "size"), [(DENSENET, 224), ("resnet50-res512-all", 512)])
def test_xrv_preprocessing(name: str, size: int) -> None:
    prep = registry.card(name).preprocessing
    pixels = np.zeros((300, 400), dtype=np.float32)
    pixels[:, :50] = 1.0  # cropped away: the central square is columns 50..349
    pixels[:, 200:] = 1.0
    x = preprocess.to_input(_radiograph(pixels), prep)
    assert x.shape == (1, size, size)
    assert float(x.min()) == -1024.0 and float(x.max()) == 1024.0
    assert float(x[0, :, 0].max()) == -1024.0  # left edge of the crop is dark
    assert float(x[0, :, -1].min()) == 1024.0


def test_resnet_reports_only_trained_outputs() -> None:
    card = registry.card("resnet50-res512-all")
    net = xrv_backend.build_resnet(card)
    assert net.conv1.in_channels == 1  # type: ignore[union-attr]
    assert net.fc.out_features == 18  # type: ignore[union-attr]
    model = TorchImageModel(card, net)
    image = _radiograph(np.random.default_rng(4).random((512, 512)))
    x = preprocess.to_batch([image], card.preprocessing)
    with torch.no_grad():
        raw = torch.sigmoid(net(x)).numpy()
    probs = model.predict([image])
    assert probs.shape == (1, 16) and set(model.thresholds) == set(model.labels)
    assert "Lung Lesion" not in model.labels
    for j, label in enumerate(model.labels):  # each reported column is its own output
        assert probs[0, j] == pytest.approx(raw[0, card.output_labels.index(label)], abs=1e-5)
    heat = model.heatmap(image, "Pneumothorax")  # Grad-CAM on the card's layer4
    assert heat.shape == (512, 512) and 0.0 <= heat.min() and heat.max() <= 1.0


# --- anatomy segmentation and cardiothoracic ratio -------------------------------------


def _masks(shape: tuple[int, int], heart: tuple[int, int, int, int], lungs: list[tuple]) -> tuple:
    h = np.zeros(shape, dtype=bool)
    y0, y1, x0, x1 = heart
    h[y0:y1, x0:x1] = True
    lung = np.zeros(shape, dtype=bool)
    for y0, y1, x0, x1 in lungs:
        lung[y0:y1, x0:x1] = True
    return h, lung


@pytest.mark.parametrize(
    ("heart", "lungs", "ratio"),
    [
        ((60, 90, 40, 80), [(10, 100, 10, 50), (10, 100, 70, 110)], 40 / 100),
        ((60, 90, 20, 100), [(10, 100, 10, 50), (10, 100, 70, 110)], 80 / 100),
        ((0, 0, 0, 0), [(10, 100, 10, 50)], None),  # no heart
        ((60, 90, 40, 80), [], None),  # no lungs
    ],
)
def test_ctr_from_masks(heart: tuple, lungs: list[tuple], ratio: float | None) -> None:
    h, lung = _masks((120, 120), heart, lungs)
    ctr = segmentation.ctr_from_masks(h, lung)
    if ratio is None:
        assert ctr.ratio is None and "no " in ctr.reason
        return
    assert ctr.ratio == pytest.approx(ratio)
    assert ctr.heart is not None and ctr.heart.width == heart[3] - heart[2]
    assert ctr.to_dict()["thorax"]["width"] == 100  # type: ignore[index]


def test_ctr_masks_must_match() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        segmentation.ctr_from_masks(np.zeros((4, 4), bool), np.zeros((4, 5), bool))


def test_segmenter_plumbing_at_small_size() -> None:
    # The real card at 128 px instead of 512 (same network, fully convolutional)
    # keeps this under a few seconds on one thread; weights are random.
    card = registry.card("pspnet-chestx-det")
    small = card.model_copy(
        update={"preprocessing": card.preprocessing.model_copy(update={"input_size": 128})}
    )
    torch.manual_seed(0)
    seg = segmentation.AnatomySegmenter(small, segmentation.build_network(small))
    image = _radiograph(np.random.default_rng(2).random((150, 200)))
    masks = seg.segment(image)
    assert set(masks) == set(card.labels)
    assert all(m.shape == (150, 200) and m.dtype == bool for m in masks.values())
    assert not any(m[:, :25].any() or m[:, 175:].any() for m in masks.values())  # outside crop
    lungs = np.logical_or(masks["Left Lung"], masks["Right Lung"])
    assert seg.cardiothoracic_ratio(image, masks) == segmentation.ctr_from_masks(
        masks["Heart"], lungs
    )


class _KnownMasks(torch.nn.Module):
    """Logits that draw a heart 40 and lungs 100 pixels wide on the model's 128 px grid."""

    def __init__(self, labels: list[str], size: int) -> None:
        super().__init__()
        logits = torch.full((1, len(labels), size, size), -10.0)
        logits[0, labels.index("Heart"), 60:90, 44:84] = 10.0
        logits[0, labels.index("Right Lung"), 10:100, 14:54] = 10.0
        logits[0, labels.index("Left Lung"), 10:100, 74:114] = 10.0
        self.register_buffer("logits", logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(x.shape[0], -1, -1, -1)


def test_ctr_through_segment_maps_masks_back_to_the_image() -> None:
    card = registry.card("pspnet-chestx-det")
    small = card.model_copy(
        update={"preprocessing": card.preprocessing.model_copy(update={"input_size": 128})}
    )
    seg = segmentation.AnatomySegmenter(small, _KnownMasks(list(card.labels), 128))
    # 300 x 400: the model saw the central 300 x 300 square (columns 50..349), 128 px wide.
    ctr = seg.cardiothoracic_ratio(_radiograph(np.zeros((300, 400))))
    assert ctr.ratio == pytest.approx(40 / 100, abs=0.02)
    assert ctr.heart is not None and ctr.thorax is not None
    scale = 300 / 128
    assert ctr.thorax.x0 == pytest.approx(50 + 14 * scale, abs=3)
    assert ctr.thorax.x1 == pytest.approx(50 + 114 * scale, abs=3)


@pytest.mark.slow
def test_pspnet_import_and_full_size_ctr(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Full path at 512 px: random PSPNet weights (272 MB) through `models import`."""
    if "slow" not in str(request.config.getoption("markexpr")):
        pytest.skip("slow (about 20 s): opt in with -m slow")
    name = "pspnet-chestx-det"
    card = registry.card(name)
    net = segmentation.build_network(card)
    path = tmp_path / "pspnet.pth"
    torch.save({f"module.{k}": v for k, v in net.model.state_dict().items()}, path)  # type: ignore[operator]
    cache.import_file(card, path, cache_dir=tmp_path / "c", validate=registry.validator(name))
    seg = registry.segmenter(name, cache_dir=tmp_path / "c")
    image = _radiograph(np.random.default_rng(3).random((600, 512)))
    masks = seg.segment(image)
    assert all(m.shape == (600, 512) for m in masks.values())
    lungs = np.logical_or(masks["Left Lung"], masks["Right Lung"])
    ctr = seg.cardiothoracic_ratio(image, masks)
    assert ctr == segmentation.ctr_from_masks(masks["Heart"], lungs)

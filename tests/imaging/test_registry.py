"""The registry: names, cards, errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from radpilot.errors import InputError, ModelNotAvailableError
from radpilot.imaging import registry
from radpilot.imaging.model_card import Task


def test_default_model_is_registered_and_bundled() -> None:
    assert registry.DEFAULT_MODEL in registry.names()
    assert registry.is_installed(registry.DEFAULT_MODEL)
    assert registry.card(registry.DEFAULT_MODEL).weights.bundled


def test_names_by_task() -> None:
    classifiers = registry.names(Task.CLASSIFICATION)
    segmenters = registry.names("segmentation")
    assert registry.DEFAULT_MODEL in classifiers
    assert set(classifiers) | set(segmenters) == set(registry.names())
    assert not set(classifiers) & set(segmenters)


@pytest.mark.parametrize("name", ["", "densenet", "PNEUMONIAMNIST-V1", "pneumoniamnist-v1.json"])
def test_unknown_name_lists_valid_ones(name: str) -> None:
    for call in (registry.get, registry.card):
        with pytest.raises(InputError) as info:
            call(name)
        message = str(info.value)
        assert "valid names" in message and registry.DEFAULT_MODEL in message
        assert "\n" not in message


def test_get_is_cached() -> None:
    assert registry.get(registry.DEFAULT_MODEL) is registry.get(registry.DEFAULT_MODEL)


@pytest.mark.parametrize("name", ["densenet121-res224-all", "resnet50-res512-all"])
def test_missing_weights_say_both_ways_to_install(name: str, tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError) as info:
        registry.get(name, cache_dir=tmp_path)
    message = str(info.value)
    assert f"radpilot models pull {name}" in message
    assert f"radpilot models import {name} FILE" in message
    assert not any(tmp_path.iterdir())  # looking never creates anything


def test_segmenter_and_classifier_are_not_confused(tmp_path: Path) -> None:
    (seg,) = registry.names(Task.SEGMENTATION)
    with pytest.raises(InputError, match="segmenter"):
        registry.get(seg, cache_dir=tmp_path)
    with pytest.raises(InputError, match="not a segmentation model"):
        registry.segmenter(registry.DEFAULT_MODEL)


def test_importing_the_registry_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import radpilot.imaging.registry as r; r.names(); r.card(r.DEFAULT_MODEL); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

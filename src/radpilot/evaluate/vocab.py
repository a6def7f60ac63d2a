"""The evaluation harness's dataset registry (finding-name synonyms are
:mod:`radpilot.reports.labelnames`).

It is JSON inside the package, read lazily and checked strictly: an unknown key is an
error that lists the allowed ones, so a typo in a data file never passes silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

from radpilot.errors import InputError, VocabularyError
from radpilot.reports.labelnames import canonical_finding, normalize_name

__all__ = ["canonical_finding", "normalize_name"]

_DATA = "radpilot.evaluate.data"


class LabelFormat(StrEnum):
    """How a dataset table stores its labels."""

    PIPE_LABELS = "pipe_labels"  # one column "A|B|C" naming the positive findings
    YES_NO = "yes_no"  # one column per finding holding YES / NO
    CHEXPERT = "chexpert"  # one column per finding holding 1 / 0 / -1 / blank


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    name: str
    file: str
    description: str
    licence: str
    id_column: str
    format: LabelFormat
    labels: tuple[str, ...]
    subgroups: dict[str, str]
    label_column: str | None = None


def _load(name: str) -> dict[str, Any]:
    path = resources.files(_DATA).joinpath(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise VocabularyError(f"{name}: cannot read the data file ({exc})") from None
    if not isinstance(data, dict):
        raise VocabularyError(f"{name}: the top level must be an object")
    return data


def _check_keys(where: str, obj: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise VocabularyError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed keys are {sorted(allowed)}"
        )
    missing = required - set(obj)
    if missing:
        raise VocabularyError(f"{where}: missing key(s) {sorted(missing)}")


_DATASET_KEYS = {
    "file",
    "description",
    "licence",
    "id_column",
    "format",
    "labels",
    "subgroups",
    "label_column",
}


@lru_cache(maxsize=1)
def _datasets() -> tuple[dict[str, DatasetSpec], tuple[tuple[int, int, str], ...]]:
    data = _load("datasets.json")
    _check_keys("datasets.json", data, {"_about", "datasets", "age_bands"}, {"datasets"})
    specs: dict[str, DatasetSpec] = {}
    for name, raw in data["datasets"].items():
        where = f"datasets.json: dataset '{name}'"
        _check_keys(where, raw, _DATASET_KEYS, _DATASET_KEYS - {"label_column"})
        try:
            fmt = LabelFormat(raw["format"])
        except ValueError:
            raise VocabularyError(
                f"{where}: format '{raw['format']}' is not one of {[f.value for f in LabelFormat]}"
            ) from None
        specs[name] = DatasetSpec(
            name=name,
            file=raw["file"],
            description=raw["description"],
            licence=raw["licence"],
            id_column=raw["id_column"],
            format=fmt,
            labels=tuple(raw["labels"]),
            subgroups=dict(raw["subgroups"]),
            label_column=raw.get("label_column"),
        )
    bands = tuple((int(lo), int(hi), str(label)) for lo, hi, label in data.get("age_bands", []))
    return specs, bands


def dataset_names() -> list[str]:
    return sorted(_datasets()[0])


def dataset_spec(name: str) -> DatasetSpec:
    specs = _datasets()[0]
    if name not in specs:
        raise InputError(f"unknown dataset '{name}'; valid names: {', '.join(sorted(specs))}")
    return specs[name]


def age_bands() -> tuple[tuple[int, int, str], ...]:
    """(lowest age, highest age, label) of each band, inclusive."""
    return _datasets()[1]

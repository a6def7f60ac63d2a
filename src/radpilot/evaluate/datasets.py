"""Public label tables that ship inside the torchxrayvision wheel, as radpilot gold CSVs.

The wheel's ``data/`` folder is found with ``importlib.util.find_spec`` and read with pandas;
torchxrayvision itself (and so torch) is never imported. The tables are listed in the data
file ``data/datasets.json`` (model :class:`DatasetsFile`, its JSON Schema beside it). Output: ``id`` (the image id), one column per finding (canonical
names, e.g. NIH "Effusion" -> "Pleural Effusion"), then subgroup columns (``sex``, ``age``,
``age_band``, ``view``, …) ready for ``radpilot evaluate classification --subgroup``.
"""

from __future__ import annotations

import logging
import zlib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from radpilot import xrvdata
from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.errors import InputError
from radpilot.evaluate.inputs import safe_name
from radpilot.reports.labelnames import canonical_finding

log = logging.getLogger(__name__)

_SEX = {"m": "M", "male": "M", "f": "F", "female": "F"}


class LabelFormat(StrEnum):
    """How a dataset table stores its labels."""

    PIPE_LABELS = "pipe_labels"  # one column "A|B|C" naming the positive findings
    YES_NO = "yes_no"  # one column per finding holding YES / NO
    CHEXPERT = "chexpert"  # one column per finding holding 1 / 0 / -1 / blank


class DatasetSpec(DataModel):
    """One label table of the wheel and how to read it."""

    file: str = Field(description="File name inside torchxrayvision/data/.")
    description: str
    licence: str
    id_column: str = Field(description="The column holding the image id.")
    format: LabelFormat
    labels: tuple[str, ...] = Field(
        min_length=1, description="Finding names as the table spells them."
    )
    subgroups: dict[str, str] = Field(
        description="Output subgroup column (sex, age, view, ...) -> the table's column."
    )
    label_column: str | None = Field(None, description="The pipe_labels column.")

    @model_validator(mode="after")
    def _pipe_labels_need_their_column(self) -> DatasetSpec:
        if self.format is LabelFormat.PIPE_LABELS and not self.label_column:
            raise ValueError("format 'pipe_labels' needs 'label_column'")
        return self


class AgeBand(DataModel):
    """An ``age_band`` subgroup value: ages ``low`` to ``high`` inclusive."""

    low: int = Field(ge=0)
    high: int = Field(ge=0)
    label: str

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class DatasetsFile(DataDocument):
    """``datasets.json``: the label tables ``radpilot evaluate dataset`` can convert."""

    datasets: dict[str, DatasetSpec]
    age_bands: tuple[AgeBand, ...] = ()


DATASETS = DataFile("radpilot.evaluate", "data/datasets.json", DatasetsFile)


def dataset_names() -> list[str]:
    return sorted(DATASETS.load().datasets)


def dataset_spec(name: str) -> DatasetSpec:
    specs = DATASETS.load().datasets
    if name not in specs:
        raise InputError(f"unknown dataset '{name}'; valid names: {', '.join(sorted(specs))}")
    return specs[name]


def age_bands() -> tuple[AgeBand, ...]:
    return DATASETS.load().age_bands


def wheel_data_dir() -> Path:
    return xrvdata.wheel_data_dir("the dataset label tables", "pass --table PATH")


def table_path(name: str, path: Path | None = None) -> Path:
    p = path if path is not None else wheel_data_dir() / dataset_spec(name).file
    if not p.is_file():
        raise InputError(f"{p}: the '{name}' label table is not there")
    return p


def _age_band(age: Any) -> str:
    try:
        years = float(age)
    except (TypeError, ValueError):
        return ""
    for band in age_bands():
        if band.low <= years <= band.high:
            return band.label
    return ""


def _read(src: Path, spec: DatasetSpec) -> Any:
    import pandas as pd

    try:
        raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{src}: not a readable CSV ({type(exc).__name__})") from None
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt .gz among them
        raise InputError(f"{src}: cannot read ({type(exc).__name__})") from None
    needed = [spec.id_column, *spec.subgroups.values()]
    if spec.format is LabelFormat.PIPE_LABELS:
        needed.append(spec.label_column or "")
    else:
        needed.extend(spec.labels)
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        shown = ", ".join(safe_name(str(c), i + 1) for i, c in enumerate(raw.columns))
        raise InputError(f"{src}: missing column(s) {absent}; its columns are {shown}")
    return raw


def _yes_no(raw: Any, label: str, src: Path) -> Any:
    col = raw[label].str.strip().str.upper()
    bad = ~col.isin(["YES", "NO", ""])
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{src}: line {first + 2}, column '{label}': not YES, NO or blank "
            f"({int(bad.sum()):,} such cell(s))"
        )
    return col.map({"YES": "1", "NO": "0", "": ""})


def load_gold(name: str, *, path: Path | None = None) -> Any:
    """The dataset as a gold DataFrame (see the module docstring)."""
    import pandas as pd

    spec = dataset_spec(name)
    src = table_path(name, path)
    raw = _read(src, spec)
    out = pd.DataFrame({"id": raw[spec.id_column].str.strip()})
    if spec.format is LabelFormat.PIPE_LABELS:
        sets = raw[spec.label_column].str.split("|").map(lambda xs: {x.strip() for x in xs})
        for label in spec.labels:
            out[canonical_finding(label)] = sets.map(lambda s, lab=label: int(lab in s))
    else:
        for label in spec.labels:
            column = raw[label].str.strip()
            yes_no = spec.format is LabelFormat.YES_NO
            out[canonical_finding(label)] = _yes_no(raw, label, src) if yes_no else column
    for target, column in spec.subgroups.items():
        values = raw[column].str.strip()
        if target == "sex":
            values = values.map(lambda v: _SEX.get(v.lower(), v))
        out[target] = values
        if target == "age":
            out["age_band"] = values.map(_age_band)
    dup = out["id"].duplicated()
    if dup.any():
        # Some tables list an image twice (e.g. two reads): keep the first, say how many.
        log.warning("%s: %d duplicate image id(s) dropped, first kept", src, int(dup.sum()))
        out = out[~dup]
    return out


def write_gold(name: str, target: Path, *, path: Path | None = None) -> dict[str, Any]:
    """Write the gold CSV; return a summary (rows, positives per finding)."""
    frame = load_gold(name, path=path)
    spec = dataset_spec(name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(target, index=False)
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror})") from None
    findings = [canonical_finding(lab) for lab in spec.labels]
    positives = {f: int((frame[f].astype(str).isin(["1", "1.0"])).sum()) for f in findings}
    return {
        "dataset": name,
        "rows": len(frame),
        "findings": findings,
        "positives": positives,
        "subgroups": [c for c in frame.columns if c not in findings and c != "id"],
        "licence": spec.licence,
    }


def describe() -> list[tuple[str, str]]:
    return [(n, dataset_spec(n).description) for n in dataset_names()]

"""Public label tables that ship inside the torchxrayvision wheel, as radpilot gold CSVs.

The wheel's ``data/`` folder is found with ``importlib.util.find_spec`` and read with pandas;
torchxrayvision itself (and so torch) is never imported. The registry of tables is the data
file ``data/datasets.json``. Output: ``id`` (the image id), one column per finding (canonical
names, e.g. NIH "Effusion" -> "Pleural Effusion"), then subgroup columns (``sex``, ``age``,
``age_band``, ``view``, …) ready for ``radpilot evaluate classification --subgroup``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from radpilot import xrvdata
from radpilot.errors import InputError
from radpilot.evaluate.vocab import (
    DatasetSpec,
    LabelFormat,
    age_bands,
    canonical_finding,
    dataset_names,
    dataset_spec,
)

log = logging.getLogger(__name__)

_SEX = {"m": "M", "male": "M", "f": "F", "female": "F"}


def wheel_data_dir() -> Path:
    return xrvdata.wheel_data_dir("the dataset label tables", "pass --table PATH")


def table_path(spec: DatasetSpec, path: Path | None = None) -> Path:
    p = path if path is not None else wheel_data_dir() / spec.file
    if not p.is_file():
        raise InputError(f"{p}: the '{spec.name}' label table is not there")
    return p


def _age_band(age: Any) -> str:
    try:
        years = float(age)
    except (TypeError, ValueError):
        return ""
    for lo, hi, label in age_bands():
        if lo <= years <= hi:
            return label
    return ""


def load_gold(name: str, *, path: Path | None = None) -> Any:
    """The dataset as a gold DataFrame (see the module docstring)."""
    import pandas as pd

    spec = dataset_spec(name)
    src = table_path(spec, path)
    try:
        raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{src}: not a readable CSV ({type(exc).__name__})") from None
    needed = [spec.id_column, *spec.subgroups.values()]
    if spec.format is LabelFormat.PIPE_LABELS:
        needed.append(spec.label_column or "")
    else:
        needed.extend(spec.labels)
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        raise InputError(f"{src}: missing column(s) {absent}; columns are {list(raw.columns)}")
    out = pd.DataFrame({"id": raw[spec.id_column].str.strip()})
    if spec.format is LabelFormat.PIPE_LABELS:
        sets = raw[spec.label_column].str.split("|").map(lambda xs: {x.strip() for x in xs})
        for label in spec.labels:
            out[canonical_finding(label)] = sets.map(lambda s, lab=label: int(lab in s))
    elif spec.format is LabelFormat.YES_NO:
        for label in spec.labels:
            col = raw[label].str.strip().str.upper()
            bad = ~col.isin(["YES", "NO", ""])
            if bad.any():
                first = int(bad.to_numpy().nonzero()[0][0])
                raise InputError(
                    f"{src}: line {first + 2} column '{label}': '{raw[label].iloc[first]}' "
                    "is not YES / NO"
                )
            out[canonical_finding(label)] = col.map({"YES": "1", "NO": "0", "": ""})
    else:
        for label in spec.labels:
            out[canonical_finding(label)] = raw[label].str.strip()
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

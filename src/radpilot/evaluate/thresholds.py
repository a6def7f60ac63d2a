"""Operating thresholds: one per finding, from a number, a mapping or a JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.evaluate.inputs import decode, read_bytes
from radpilot.reports.labelnames import canonical_finding

DEFAULT_THRESHOLD = 0.5
ThresholdSource = float | Mapping[str, float] | str | Path | None


def _checked(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError(f"{where} must be in [0, 1], got {value}")
    return float(value)


def _read_json(path: Path) -> tuple[Any, bool]:
    """The thresholds object of a file, and whether it came from a model card."""
    text = decode(read_bytes(path), str(path))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None
    if isinstance(raw, dict) and isinstance(raw.get("thresholds"), dict):
        return raw["thresholds"], True
    return raw, False


def load_thresholds(source: ThresholdSource, findings: Sequence[str]) -> dict[str, float]:
    """One threshold in [0, 1] per finding from a number, a mapping, or a JSON file (a flat
    ``{finding: threshold}`` object or a model card holding one under ``"thresholds"``)."""
    if source is None or isinstance(source, int | float):
        value = DEFAULT_THRESHOLD if source is None else _checked(source, "the threshold")
        return dict.fromkeys(findings, value)
    where, card = "thresholds", False
    if isinstance(source, str | Path):
        where = str(source)
        raw, card = _read_json(Path(source))
    else:
        raw = dict(source)
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object mapping finding names to thresholds")
    out = dict.fromkeys(findings, DEFAULT_THRESHOLD)
    for name, value in raw.items():
        canon = canonical_finding(str(name))
        if canon not in out:
            if card:  # a model card lists every output; scoring a few of them is normal
                continue
            raise InputError(
                f"{where}: '{name}' is not an evaluated finding; valid names: {', '.join(findings)}"
            )
        out[canon] = _checked(value, f"{where}: the threshold of '{name}'")
    return out

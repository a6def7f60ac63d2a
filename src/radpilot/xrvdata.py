"""Data files that ship inside the torchxrayvision wheel (the OpenI reports, the NIH,
Google 2019 and CheXpert label tables), found without importing torchxrayvision,
which would import torch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from radpilot.errors import InputError


def wheel_data_dir(what: str, alternative: str) -> Path:
    """torchxrayvision's ``data/`` folder; when it is not installed, the error names
    ``what`` needed it and the ``alternative`` to installing it."""
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or not spec.origin:
        raise InputError(
            f"{what} come inside the torchxrayvision wheel, which is not installed: "
            f"pip install 'radpilot[imaging]' or {alternative}"
        )
    return Path(spec.origin).parent / "data"

"""Development data beside the checkout (``../shared``, or ``$RADPILOT_SHARED``).

Not part of the product: the demo's scoring steps, the benchmarks and some tests use it
when it is there. The OpenI gold builder lives with the data, so it is imported by path.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

OPENI_GOLD_SCRIPT = Path("data") / "openi" / "openi_gold.py"


def shared_dir() -> Path:
    """$RADPILOT_SHARED, else ``../shared`` from the working directory."""
    env = os.environ.get("RADPILOT_SHARED")
    return Path(env) if env else Path.cwd().parent / "shared"


def load_script(script: Path, name: str) -> ModuleType:
    """Import one Python file by path (each caller names its own module)."""
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Small real sample files shipped with radpilot, behind one accessor.

>>> from radpilot import samples
>>> path = samples.get("siim_monochrome2.dcm")  # doctest: +SKIP

``samples/data/README.md`` names each file's source and licence.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from radpilot.errors import InputError


def _root() -> Path:
    return Path(str(resources.files("radpilot.samples") / "data"))


def names() -> list[str]:
    """Every sample file name, sorted."""
    root = _root()
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    )


def get(name: str) -> Path:
    """The path of one sample file; an unknown name lists the valid ones."""
    path = _root() / name
    if not path.is_file() or name == "README.md":
        raise InputError(f"no sample named {name!r}; available: {', '.join(names())}")
    return path

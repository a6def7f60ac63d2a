"""`radpilot evaluate`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this command to the CLI (filled in by the capability that owns it)."""

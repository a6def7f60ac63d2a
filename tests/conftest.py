"""Test-wide settings: one thread for BLAS/torch on small shared CPUs, and the
development data beside the project (../shared) when it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repo; tests that need it skip on machines without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared (development data) is not present on this machine")
    return SHARED

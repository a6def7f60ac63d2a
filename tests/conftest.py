"""Test-wide settings: one thread for BLAS/torch on small shared CPUs, and the
development data beside the project (../shared) when it is there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgserver import Server
from pgserver import start as start_pg

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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """One throwaway PostgreSQL server for the session (``pgserver``); skips with the
    reason when none can be had. ``new_database()`` gives each caller a fresh one."""
    got = start_pg()
    if isinstance(got, str):
        pytest.skip(got)
    try:
        yield got
    finally:
        got.stop()

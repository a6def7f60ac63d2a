"""One SparkSession for every Spark test: local[2] against the real JVM, UI off, small
shuffles. Skipped, with the reason, where pyspark or Java is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
from collections.abc import Iterator
from typing import Any

import pytest


def _missing() -> str | None:
    for module in ("pyspark", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'radpilot[spark]')"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "no Java runtime (java on PATH or JAVA_HOME); .ci/run installs openjdk-17"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from radpilot.spark.session import get_session

    # pyspark installs its own SIGINT handler (cancel the jobs, then KeyboardInterrupt) and
    # leaves it after stop(); later tests in this worker that send themselves SIGINT (the
    # CLI's Ctrl-C exit code) must get Python's own handler back.
    before = signal.getsignal(signal.SIGINT)
    session = get_session("local[2]", app_name="radpilot-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()
    signal.signal(signal.SIGINT, before)

"""One way to get a SparkSession for radpilot: the CLI, the submit entry point and the tests.

pyspark is imported here, lazily (extra ``[spark]``); a missing pyspark or JVM is a
:class:`~radpilot.errors.ModelNotAvailableError`-style usage error with what to install,
never a traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from radpilot.errors import InputError

# Arrow batches of this many rows go to each executor python call: large enough that the
# per-batch overhead (IPC, schema) is a small part of labelling, small enough that one
# batch of long reports stays a few MB.
ARROW_BATCH_ROWS = 2048
_LOG4J = Path(__file__).with_name("log4j2.properties")


class SparkNotAvailableError(InputError):
    """pyspark or a Java runtime is missing."""


def check_spark() -> None:
    """Raise :class:`SparkNotAvailableError` with what to install when Spark cannot start."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkNotAvailableError(
            f"--engine spark needs {exc.name}: pip install 'radpilot[spark]'"
        ) from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise SparkNotAvailableError(
            "--engine spark needs a Java runtime (17 or later): install one "
            "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )


def get_session(master: str | None = None, *, app_name: str = "radpilot") -> Any:
    """The active SparkSession, or a new one on ``master`` (``None``: what spark-submit or
    the environment configured, else ``local[*]``).

    Executors' python is this interpreter unless PYSPARK_PYTHON says otherwise: a worker
    on the system python would lack radpilot and pyarrow. The UI is off and shuffles are
    small: radpilot's jobs are map-only, with one sort where an ordered file is written.
    """
    check_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    # read by pyspark when the context starts (the conf key only counts under spark-submit)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    python = os.environ["PYSPARK_PYTHON"]
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: its conf rules
        builder = builder.config("spark.master", os.environ.get("SPARK_MASTER", "local[*]"))
    for key, value in {
        "spark.pyspark.python": python,
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH_ROWS),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # one python worker per core, kept between tasks: the reader loads once per worker
        "spark.python.worker.reuse": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile=file:{_LOG4J}",
        "spark.executor.extraJavaOptions": f"-Dlog4j.configurationFile=file:{_LOG4J}",
    }.items():
        builder = builder.config(key, value)
    # pyspark warns on pandas 3 at every mapInPandas import; radpilot's jobs use Arrow only
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session

"""radpilot.spark: the same reader, archive ingest and image analysis on Apache Spark
(extra ``[spark]``), for archives one machine cannot hold.

``label_dataframe(df, text_col=..., labels="chexpert")`` adds the label columns to a
DataFrame; ``radpilot label INPUT -o OUTPUT --engine spark`` runs the file path on Spark;
``python -m radpilot.spark`` (or ``spark-submit`` of ``radpilot/spark/submit.py``) is the
entry point for a cluster. pyspark is imported only when one of these is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radpilot.spark.labels import label_dataframe

__all__ = ["label_dataframe"]


def __getattr__(name: str) -> Any:
    if name == "label_dataframe":
        from radpilot.spark.labels import label_dataframe

        return label_dataframe
    raise AttributeError(name)

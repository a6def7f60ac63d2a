"""radpilot.spark: the same reader, archive ingest and image analysis on Apache Spark
(extra ``[spark]``), for archives one machine cannot hold.
"""

"""radpilot.search: the report archive and negation-aware case search.

Reports are read once at ingest by the report reader; their mentions (finding,
certainty, laterality, location, change, span) are stored and indexed, so a query for
"pneumothorax" finds reports where it is present, never those that say "no pneumothorax".

- ``sources`` (+ ``hl7``, ``fhir``): CSV, JSONL, OpenI XML, FHIR R4 DiagnosticReport and
  HL7 v2 ORU^R01 into ``ReportRecord`` values (bad records become ``RecordError`` values).
- ``store``: the ``ArchiveStore`` interface and named backends (``sqlite.v1``, in
  ``sqlite_store``, with ``sqlite_schema`` and ``sqlite_write``); ``ingest``:
  transactional, resumable batches.
- ``query``: the query language; ``engine``: hybrid ranking, ``search`` and ``similar``;
  ``semantic``: optional embeddings; ``cohort``: CSV export with CheXpert labels.

>>> from radpilot.search.store import open_store        # doctest: +SKIP
>>> from radpilot.search.engine import search            # doctest: +SKIP
>>> search(open_store("archive.db"), "new left pneumothorax -effusion").hits  # doctest: +SKIP

Nothing is imported, opened or created on import.
"""

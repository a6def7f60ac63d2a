"""radpilot.search: the report archive and negation-aware case search.

Reports are read once at ingest by the report reader; their mentions (finding,
certainty, laterality, location, change, span) are stored and indexed, so a query for
"pneumothorax" finds reports where it is present, never those that say "no pneumothorax".

- ``sources``: CSV, JSONL and OpenI XML (and, through ``radpilot.interop``, FHIR R4
  DiagnosticReport and HL7 v2 ORU^R01) into ``ReportRecord`` values; bad records become
  ``RecordError`` values.
- ``models``: the archive's value types (a leaf module); ``store``: the ``ArchiveStore``
  interface and ``open_store`` (backends from ``radpilot.registry.archive_backends``:
  ``sqlite.v1`` in ``sqlite_store``, with ``sqlite_schema``, ``sqlite_write`` and
  ``sqlite_query``; ``postgres.v1``, chosen by a ``postgresql://`` URL, in ``pg_store``,
  with ``pg_schema`` and its Alembic ``pg_migrations``, ``pg_write`` and ``pg_query``);
  ``ingest``: transactional, resumable batches; ``export``: the whole
  archive as JSONL or CSV.
- ``query``: the query language; ``engine``: hybrid ranking; ``similar``: more like this;
  ``semantic``: optional embeddings; ``cohort``: CSV export with CheXpert labels.

>>> from radpilot.search.store import open_store        # doctest: +SKIP
>>> from radpilot.search.engine import search            # doctest: +SKIP
>>> search(open_store("archive.db"), "new left pneumothorax -effusion").hits  # doctest: +SKIP

Nothing is imported, opened or created on import.
"""

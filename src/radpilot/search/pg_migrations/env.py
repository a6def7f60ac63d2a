"""Alembic environment of the PostgreSQL archive: radpilot hands it a connection
(``pg_schema.migrate``); the version table lives in the archive's own schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from radpilot.search.pg_schema import SCHEMA

MIGRATION_LOCK = 0x7261647069  # "radpi": one migrating session at a time per database

connection = context.config.attributes["connection"]
# Two first opens of an empty database at once: the second waits here, then finds the
# archive at head (Alembic reads the version after the lock) and runs nothing.
connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
context.configure(connection=connection, version_table_schema=SCHEMA, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment of the PostgreSQL archive: radpilot hands it a connection
(``pg_schema.migrate``); the version table lives in the archive's own schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from radpilot.search.pg_schema import SCHEMA

connection = context.config.attributes["connection"]
connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
context.configure(connection=connection, version_table_schema=SCHEMA, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

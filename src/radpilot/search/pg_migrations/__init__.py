"""Alembic migrations of the PostgreSQL archive (``pg_schema.migrate`` runs them)."""

"""The service's tables (``radpilot serve``: users, tokens, its secret, the audit trail)
in a schema of their own, ``service``, in the archive's database, as the SQLite backend
keeps its ``service_*`` tables in the archive's file.

The audit trail is append-only inside PostgreSQL: triggers refuse UPDATE, DELETE and
TRUNCATE, so only someone who can drop them (the table's owner, a superuser) changes an
entry, and the hash chain shows that. ``seq`` is assigned by the appender under a lock
(not a sequence) so a rolled-back append leaves no gap in the chain.
"""

from __future__ import annotations

from alembic import op

revision = "0002_service_v1"
down_revision = "0001_archive_v1"
branch_labels = None
depends_on = None

DDL = """
CREATE SCHEMA IF NOT EXISTS service;
CREATE TABLE service.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE service.users (
    name text PRIMARY KEY, role text NOT NULL, password_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false, created text NOT NULL
);
CREATE TABLE service.tokens (
    jti text PRIMARY KEY, "user" text NOT NULL, kind text NOT NULL,
    issued_at double precision NOT NULL, expires_at double precision NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX tokens_user ON service.tokens("user");
CREATE TABLE service.audit (
    seq bigint PRIMARY KEY, at text NOT NULL, actor text NOT NULL, role text NOT NULL,
    action text NOT NULL, target text NOT NULL, client text NOT NULL, outcome text NOT NULL,
    detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL
);
CREATE FUNCTION service.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON service.audit
    FOR EACH ROW EXECUTE FUNCTION service.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON service.audit
    FOR EACH STATEMENT EXECUTE FUNCTION service.audit_append_only();
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP SCHEMA service CASCADE")

"""The studies store (``radpilot.workflow.studies``) in schema ``workflow`` of the
archive's database: the SQLite backend's ``studies`` table, one row per StudyInstanceUID.
"""

from __future__ import annotations

from alembic import op

revision = "0003_studies_v1"
down_revision = "0002_service_v1"
branch_labels = None
depends_on = None

DDL = """
CREATE SCHEMA IF NOT EXISTS workflow;
CREATE TABLE workflow.studies (
    study_uid text COLLATE "C" PRIMARY KEY,
    patient_id text, accession text, description text, modality text, body_part text,
    study_date text,
    received text COLLATE "C" NOT NULL,
    updated text NOT NULL,
    status text NOT NULL,
    analysis text,
    urgency_tier text, urgency_score double precision,
    reasons text NOT NULL DEFAULT '[]',
    report_id text
);
CREATE INDEX studies_status ON workflow.studies(status, received);
CREATE INDEX studies_patient ON workflow.studies(patient_id, study_date);
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP SCHEMA workflow CASCADE")

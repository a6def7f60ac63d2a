"""The archive's first PostgreSQL schema: the SQLite archive's tables (schema 1) with a
stored tsvector and a GIN index for full-text search in place of FTS5.

The words are split as FTS5's unicode61 tokenizer splits them (every run of characters
that are not letters or digits separates words, so ``2.5`` is ``2`` and ``5``) and
stemmed by Snowball's Porter stemmer (the algorithm of FTS5's ``porter`` tokenizer; words
under three letters unstemmed, as there), with no stop words: a phrase matches the same
reports in both backends (tests/search/test_pg_store.py checks it on random phrases).
"""

from __future__ import annotations

from alembic import op

revision = "0001_archive_v1"
down_revision = None
branch_labels = None
depends_on = None

# FTS5's porter tokenizer leaves words under three characters as they are; Snowball's
# would make "as" "a" and "is" "i" (and drop "s"): such words get a suffix that no stemming
# rule touches (a digit), in the stored vectors and in every query alike.
WORDS = (
    "regexp_replace(regexp_replace({col}, '[^[:alnum:]]+', ' ', 'g'), "
    "'\\m([[:alpha:]]{{1,2}})\\M', '\\100', 'g')"
)
TOKEN_TYPES = (
    "asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, "
    "hword_numpart, email, protocol, url, host, url_path, file, sfloat, float, int, uint, "
    "version, tag, entity"
)

DDL = f"""
CREATE TEXT SEARCH DICTIONARY archive.radpilot_porter (TEMPLATE = snowball, Language = porter);
CREATE TEXT SEARCH CONFIGURATION archive.radpilot (PARSER = default);
ALTER TEXT SEARCH CONFIGURATION archive.radpilot ADD MAPPING FOR {TOKEN_TYPES}
    WITH archive.radpilot_porter;
CREATE FUNCTION archive.fts_words(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {WORDS.format(col="t")} $$;
CREATE TABLE archive.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE archive.reports (
    rowid bigint PRIMARY KEY,
    id text NOT NULL UNIQUE,
    text text NOT NULL,
    patient_id text, study_date text COLLATE "C", modality text, body_part text,
    hash text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    labels text NOT NULL DEFAULT '{{}}',
    ingested_at text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS
        (to_tsvector('archive.radpilot'::regconfig, archive.fts_words(text))) STORED,
    ntok integer GENERATED ALWAYS AS (coalesce(array_length(
        string_to_array(btrim(archive.fts_words(text)), ' '), 1), 0)) STORED
);
-- FTS5's BM25 needs the archive's row and token totals: kept here by every write.
CREATE TABLE archive.fts_totals (
    one boolean PRIMARY KEY DEFAULT true CHECK (one), rows bigint NOT NULL, tokens bigint NOT NULL
);
INSERT INTO archive.fts_totals(rows, tokens) VALUES (0, 0);
-- How often a phrase (its lexemes in order) occurs in a vector: FTS5's phrase instances.
CREATE FUNCTION archive.phrase_freq(v tsvector, toks text[]) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT count(*)::integer FROM (
        SELECT unnest(u.positions) AS p FROM unnest(v) u WHERE u.lexeme = toks[1]
    ) s WHERE NOT EXISTS (
        SELECT 1 FROM generate_subscripts(toks, 1) j WHERE j > 1 AND NOT EXISTS (
            SELECT 1 FROM unnest(v) w WHERE w.lexeme = toks[j] AND s.p + j - 1 = ANY(w.positions)
        )
    )
$$;
CREATE INDEX reports_patient ON archive.reports(patient_id, study_date);
CREATE INDEX reports_date ON archive.reports(study_date);
CREATE INDEX reports_fts ON archive.reports USING gin(tsv);
CREATE TABLE archive.report_versions (
    report_id text NOT NULL, version integer NOT NULL,
    text text NOT NULL, patient_id text, study_date text, modality text, body_part text,
    hash text NOT NULL, ingested_at text NOT NULL, replaced_at text NOT NULL,
    PRIMARY KEY (report_id, version)
);
CREATE TABLE archive.mentions (
    report_rowid bigint NOT NULL, finding text NOT NULL, status text NOT NULL,
    certainty text NOT NULL, laterality text, locations text NOT NULL, change text,
    section text NOT NULL, span_start integer NOT NULL, span_end integer NOT NULL,
    sentence_start integer NOT NULL, sentence_end integer NOT NULL,
    historical integer NOT NULL, term text NOT NULL,
    PRIMARY KEY (report_rowid, finding, span_start, span_end)
);
CREATE TABLE archive.report_findings (
    report_rowid bigint NOT NULL, finding text NOT NULL, status text NOT NULL,
    score double precision NOT NULL,
    PRIMARY KEY (report_rowid, finding)
);
CREATE INDEX findings_rank ON archive.report_findings(finding, score DESC, report_rowid DESC, status);
CREATE TABLE archive.embeddings (
    report_rowid bigint NOT NULL, model text NOT NULL, vec bytea NOT NULL,
    PRIMARY KEY (model, report_rowid)
);
CREATE TABLE archive.audit (
    seq bigserial PRIMARY KEY, at text NOT NULL, "user" text NOT NULL, action text NOT NULL,
    report_id text NOT NULL, reason text NOT NULL
);
INSERT INTO archive.meta(key, value) VALUES ('schema', '1'),
    ('created', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'));
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP SCHEMA archive CASCADE")

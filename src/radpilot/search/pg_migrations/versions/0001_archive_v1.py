"""The archive's first PostgreSQL schema: the SQLite archive's tables (schema 1) with a
stored tsvector and a GIN index for full-text search in place of FTS5.

The words are split as FTS5's unicode61 tokenizer splits them (every run of characters
that are not letters or digits separates words, so ``2.5`` is ``2`` and ``5``) and
stemmed by Snowball's Porter stemmer (the algorithm of FTS5's ``porter`` tokenizer, with
Porter's own two departures from it that FTS5 makes, and words under three bytes left as
they are, as there), with no stop words: a phrase matches the same
reports in both backends (tests/search/test_pg_store.py checks it on random phrases).
"""

from __future__ import annotations

from alembic import op

revision = "0001_archive_v1"
down_revision = None
branch_labels = None
depends_on = None

# Superscript digits and fractions are digits to unicode61 (category No), not to [:alnum:].
# FTS5 stems as Porter's own C code does, with its two departures from the published
# algorithm that Snowball's "porter" follows: -bli becomes -ble (not only -abli), -logi
# becomes -log. Those words are given to the stemmer in the form the departure makes.
WORDS = (
    "regexp_replace(regexp_replace("
    "regexp_replace({col}, '[^[:alnum:]\\u00b2\\u00b3\\u00b9\\u00bc-\\u00be]+', ' ', 'g'), "
    "'\\m(\\w*[^a\\s])bl(y|ies)\\M', '\\1ble', 'gi'), "
    "'\\m(\\w+)log(y|ies)\\M', '\\1log', 'gi')"
)
# unicode61's remove_diacritics: a Latin letter's accents go ("Pleurésie" is "pleuresie");
# other scripts keep theirs (decomposed, stripped after Latin letters, recomposed). Only
# text with a non-ASCII character pays for it.
UNACCENT = (
    "CASE WHEN {col} ~ '[^\\x01-\\x7f]' THEN normalize(regexp_replace(normalize({col}, NFD), "
    "'([A-Za-z])[\\u0300-\\u036f]+', '\\1', 'g'), NFC) ELSE {col} END"
)

DDL = f"""
CREATE TEXT SEARCH DICTIONARY archive.radpilot_porter (TEMPLATE = snowball, Language = porter);
CREATE FUNCTION archive.fts_words(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {WORDS.format(col=UNACCENT.format(col="t"))} $$;
-- Each word stemmed (Snowball's Porter), except as FTS5's porter tokenizer leaves them:
-- words under 3 or over 64 bytes ("as" stays "as", not "a"), positions from 1.
CREATE FUNCTION archive.fts_lexemes(t text) RETURNS TABLE (lex text, pos bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(tok) < 3 OR octet_length(tok) > 64 THEN lower(tok)
                ELSE (ts_lexize('archive.radpilot_porter', tok))[1] END, pos
    FROM unnest(string_to_array(btrim(archive.fts_words(t)), ' ')) WITH ORDINALITY u(tok, pos)
    WHERE tok <> ''
$$;
CREATE FUNCTION archive.fts_vector(t text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg('''' || lex || ''':' || least(pos, 16383), ' ')::tsvector,
                    ''::tsvector)
    FROM archive.fts_lexemes(t)
$$;
-- A phrase: its lexemes in order, each next to the one before.
CREATE FUNCTION archive.fts_phrase(t text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg('''' || lex || '''', ' <-> ' ORDER BY pos)::tsquery, ''::tsquery)
    FROM archive.fts_lexemes(t)
$$;
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
    tsv tsvector GENERATED ALWAYS AS (archive.fts_vector(text)) STORED,
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

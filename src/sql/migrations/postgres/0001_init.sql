-- portcullis SQL schema, version 1, for PostgreSQL.
--
-- `SqlStore::migrate()` runs this file (and records it in
-- `portcullis_migrations`); teams that run migrations themselves can run it
-- as it is. Every name starts with `portcullis_`: with another table
-- prefix, replace that prefix. The store's own schema comes from the
-- connection's search_path (`SqlStoreBuilder::schema`).

-- Cookie sessions and refresh-token families. `key` is the SHA-256 of the
-- session ID (never the ID itself); `record` is the record's JSON, stored
-- whole; the other columns are what the store filters on.
CREATE TABLE IF NOT EXISTS portcullis_records (
    key        BYTEA  PRIMARY KEY,
    user_id    TEXT   NOT NULL,
    kind       BIGINT NOT NULL, -- 0 cookie session, 1 refresh family
    version    BIGINT NOT NULL, -- compare-and-set on every update
    expires_at BIGINT NOT NULL, -- seconds since the Unix epoch
    record     TEXT   NOT NULL
);
-- The per-user index: a column of the record's own row, so it can never
-- disagree with the record.
CREATE INDEX IF NOT EXISTS portcullis_records_user ON portcullis_records (user_id, kind);
CREATE INDEX IF NOT EXISTS portcullis_records_expiry ON portcullis_records (expires_at);

-- JWT revocations: kind 0 a jti and kind 1 a refresh family (value: refused
-- until, seconds), kind 2 a subject cutoff (value: tokens issued at or
-- before it are refused, milliseconds). A row may be dropped from
-- `expires_at` (seconds) on.
CREATE TABLE IF NOT EXISTS portcullis_revocations (
    kind       BIGINT NOT NULL,
    id         TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS portcullis_revocations_expiry ON portcullis_revocations (expires_at);

-- Login-throttle counters (compare-and-set on `version`).
CREATE TABLE IF NOT EXISTS portcullis_attempts (
    key           TEXT   PRIMARY KEY,
    version       BIGINT NOT NULL,
    value         BYTEA  NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS portcullis_attempts_expiry ON portcullis_attempts (expires_at_ms);

-- clausewatch schema, version 1. Migrations only move forward: never edit a
-- released migration, add a new file.

-- One row per watched document (id = the slug from bot.toml). Rows are kept
-- when a document leaves the config so its history is never lost.
CREATE TABLE documents (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    service               TEXT NOT NULL,
    url                   TEXT NOT NULL,
    language              TEXT NOT NULL DEFAULT 'en',
    paused                INTEGER NOT NULL DEFAULT 0,
    -- Validators of the last good response, for conditional requests.
    etag                  TEXT,
    last_modified         TEXT,
    last_check_at         TEXT,
    last_success_at       TEXT,
    last_change_at        TEXT,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    failing_since         TEXT,
    last_error            TEXT,
    last_error_class      TEXT,
    -- Hash of the extraction rules that produced the latest version; when it
    -- changes, validators are ignored so the page is extracted again.
    rules_hash            TEXT
);

-- Every fetch, good or bad.
CREATE TABLE fetches (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents(id),
    url          TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    status       INTEGER,
    bytes        INTEGER NOT NULL DEFAULT 0,
    duration_ms  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 1,
    -- new_version | unchanged | not_modified | failed
    outcome      TEXT NOT NULL,
    error_class  TEXT,
    error        TEXT
);
CREATE INDEX fetches_by_document ON fetches(document_id, started_at);

-- Raw bodies, stored once per distinct content (sha256 of the raw bytes),
-- zstd-compressed.
CREATE TABLE snapshots (
    hash          TEXT PRIMARY KEY,
    size          INTEGER NOT NULL,
    content_type  TEXT,
    encoding      TEXT,
    body_zstd     BLOB NOT NULL,
    first_seen    TEXT NOT NULL
);

-- Distinct clause texts, shared by all versions (sha256 of the original text).
CREATE TABLE clause_texts (
    hash       TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    norm       TEXT NOT NULL,
    norm_hash  TEXT NOT NULL
);

CREATE TABLE versions (
    id             INTEGER PRIMARY KEY,
    document_id    TEXT NOT NULL REFERENCES documents(id),
    number         INTEGER NOT NULL,
    -- sha256 over the ordered clause norm hashes.
    hash           TEXT NOT NULL,
    parent_id      INTEGER REFERENCES versions(id),
    snapshot_hash  TEXT REFERENCES snapshots(hash),
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    clause_count   INTEGER NOT NULL,
    UNIQUE (document_id, number)
);
CREATE INDEX versions_by_hash ON versions(document_id, hash);

CREATE TABLE version_clauses (
    version_id   INTEGER NOT NULL REFERENCES versions(id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    level        INTEGER,
    path         TEXT NOT NULL,
    text_hash    TEXT NOT NULL REFERENCES clause_texts(hash),
    PRIMARY KEY (version_id, position)
) WITHOUT ROWID;

-- The clause diff of each version against its parent, computed once.
CREATE TABLE changesets (
    version_id       INTEGER PRIMARY KEY REFERENCES versions(id),
    from_version_id  INTEGER REFERENCES versions(id),
    added            INTEGER NOT NULL,
    removed          INTEGER NOT NULL,
    modified         INTEGER NOT NULL,
    moved            INTEGER NOT NULL,
    renamed          INTEGER NOT NULL,
    json             TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

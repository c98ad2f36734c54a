-- Real-world pages: confirmation before announcing, flaps, permanent 404s
-- and technical updates (re-extraction that is not a change).

-- A changed page waiting for its confirmation fetch (confirm_after > 0):
-- the candidate version hash and when it was first seen.
ALTER TABLE documents ADD COLUMN pending_hash TEXT;
ALTER TABLE documents ADD COLUMN pending_since TEXT;
-- Set when a check saw one of the recent versions other than the latest;
-- cleared by a new version or by enough checks at the latest version.
ALTER TABLE documents ADD COLUMN flapping_since TEXT;
ALTER TABLE documents ADD COLUMN last_flap_at TEXT;
ALTER TABLE documents ADD COLUMN stable_checks INTEGER NOT NULL DEFAULT 0;
-- First 404/410 of the current run of "not found" answers.
ALTER TABLE documents ADD COLUMN not_found_since TEXT;

-- A version whose clauses were replaced by re-extracting its snapshot with
-- new rules. The old clause texts stay in clause_texts; their hashes are
-- kept here, in order, so the replaced extraction can be rebuilt.
CREATE TABLE technical_updates (
    id                INTEGER PRIMARY KEY,
    version_id        INTEGER NOT NULL REFERENCES versions(id),
    old_hash          TEXT NOT NULL,
    new_hash          TEXT NOT NULL,
    -- JSON array of [kind, level, path, text_hash] of the old clauses.
    old_clauses       TEXT NOT NULL,
    rules_hash        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX technical_updates_by_version ON technical_updates(version_id);

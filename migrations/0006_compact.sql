-- Storage that grows with what changed. Before this, every version kept one
-- row per clause repeating its heading path and a hex hash, and every
-- clause wording kept its normalized form beside it even when identical.

-- Distinct clause wordings. `hash` and `norm_hash` are SHA-256 as bytes.
-- The normalized form is kept only when it differs from the text: as an
-- edit of the text (`norm_edit`, see `store::codec`) or, when no small edit
-- exists or the row was moved here from an older schema, whole (`norm`).
CREATE TABLE texts (
    id         INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    text       TEXT NOT NULL,
    norm       TEXT,
    norm_edit  BLOB,
    norm_hash  BLOB NOT NULL
);

-- Each distinct heading path once.
CREATE TABLE heading_paths (
    id    INTEGER PRIMARY KEY,
    path  TEXT NOT NULL UNIQUE
);

INSERT INTO texts (hash, text, norm, norm_hash)
SELECT unhex(hash), text, CASE WHEN norm = text THEN NULL ELSE norm END, unhex(norm_hash)
FROM clause_texts ORDER BY rowid;

-- Paths of the clauses replaced by technical updates are kept in their
-- JSON; only the live sequences need ids.
INSERT INTO heading_paths (path) SELECT DISTINCT path FROM version_clauses ORDER BY path;

-- A version's clauses in order, 8 bytes each: text id (4 bytes), heading
-- path id (3), kind (1: 0 paragraph, 1 list item, 2 table row, 16 + level
-- heading), big-endian (`store::codec`).
ALTER TABLE versions ADD COLUMN clause_seq BLOB NOT NULL DEFAULT x'';

UPDATE versions SET clause_seq = COALESCE((
    SELECT unhex(group_concat(printf('%08x%06x%02x', t.id, p.id,
               CASE vc.kind WHEN 'paragraph' THEN 0 WHEN 'list_item' THEN 1 WHEN 'table_row' THEN 2
                            ELSE 16 + COALESCE(vc.level, 1) END), '' ORDER BY vc.position))
    FROM version_clauses vc
    JOIN texts t ON t.hash = unhex(vc.text_hash)
    JOIN heading_paths p ON p.path = vc.path
    WHERE vc.version_id = versions.id
), x'');

DROP TABLE version_clauses;
DROP TABLE clause_texts;

-- Ad-hoc queries and older scripts that read clause wordings keep working.
CREATE VIEW clause_texts AS SELECT lower(hex(hash)) AS hash, text FROM texts;

-- Snapshots compressed against what the store already holds: `base_hash`,
-- the previous snapshot of the same document, is the zstd prefix (a page
-- that changed one clause costs a few hundred bytes), or `dict`, the text
-- ids (4 bytes each, big-endian) of the version's clauses, whose wordings
-- joined by newlines are the prefix (the page's text is most of the page).
-- Neither: compressed alone, as every snapshot before this migration.
-- `depth` counts the bases below a snapshot, to bound reading one.
ALTER TABLE snapshots ADD COLUMN base_hash TEXT REFERENCES snapshots(hash);
ALTER TABLE snapshots ADD COLUMN dict BLOB;
ALTER TABLE snapshots ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;

-- A version whose letters and digits equal its parent's (only case,
-- whitespace, punctuation or Markdown markers differ): stored and shown in
-- history, never announced.
ALTER TABLE versions ADD COLUMN cosmetic INTEGER NOT NULL DEFAULT 0;

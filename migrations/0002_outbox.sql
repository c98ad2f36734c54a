-- The outbox: every post the bot will send, written in the same transaction
-- as the version (or mention) it answers, then sent in order by the
-- publisher, which records each remote id before sending the next post.

CREATE TABLE threads (
    id           INTEGER PRIMARY KEY,
    -- What the thread is about, unique so nothing is announced twice:
    -- "version:<id>", "mention:<notification id>", "gone:<document>:<date>".
    key          TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    document_id  TEXT REFERENCES documents(id),
    version_id   INTEGER REFERENCES versions(id),
    -- Remote status the first post replies to (answers to mentions).
    in_reply_to  TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    thread_id        INTEGER NOT NULL REFERENCES threads(id),
    seq              INTEGER NOT NULL,
    text             TEXT NOT NULL,
    spoiler          TEXT,
    visibility       TEXT NOT NULL,
    language         TEXT,
    -- Sent as Idempotency-Key; derived from the thread key and seq.
    idempotency_key  TEXT NOT NULL UNIQUE,
    -- pending: not sent; sending: sent at least once, outcome unknown;
    -- sent: remote_id known; failed: refused by the server for good.
    state            TEXT NOT NULL DEFAULT 'pending',
    remote_id        TEXT,
    remote_url       TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (thread_id, seq)
);
CREATE INDEX outbox_by_state ON outbox(state, thread_id, seq);

-- Small durable settings: instance limits, the mention cursor.
CREATE TABLE kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

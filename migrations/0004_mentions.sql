-- Mentions the bot has handled, so each is answered once, and the
-- per-account rate limit; subscriptions to document changes.

CREATE TABLE mentions (
    notification_id  TEXT PRIMARY KEY,
    status_id        TEXT NOT NULL,
    account          TEXT NOT NULL,
    command          TEXT,
    -- answered | rate_limited | budget | ignored_bot | ignored_unknown | not_for_us | error
    outcome          TEXT NOT NULL,
    received_at      TEXT NOT NULL
);
CREATE INDEX mentions_by_account ON mentions(account, received_at);

CREATE TABLE subscriptions (
    account      TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account, document_id)
);

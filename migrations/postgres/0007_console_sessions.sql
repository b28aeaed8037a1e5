-- Web console sessions. The cookie holds a random token; the row is keyed by its SHA-256, so a
-- copy of the database opens no session. A customer session remembers the API key it was opened
-- with: revoking that key ends the session.
CREATE TABLE console_sessions (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    account_id    TEXT,
    api_key_id    TEXT,
    csrf_token    TEXT NOT NULL,
    flash         TEXT,
    created_ms    BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL
);
CREATE INDEX console_sessions_key ON console_sessions(api_key_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen_ms);

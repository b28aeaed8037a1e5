-- E-mail addresses named by an account's company profiles, one row per address per account.
-- `address_key` is the address as compared: lower case, an internationalised domain in its
-- ASCII form. An address is confirmed for every profile of the account once `confirmed_ms` is
-- set; `resent_ms` is the last time the customer asked for the confirmation message again.
CREATE TABLE account_emails (
    account_id    TEXT NOT NULL,
    address_key   TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    confirmed_ms  INTEGER,
    resent_ms     INTEGER,
    PRIMARY KEY (account_id, address_key)
);

-- Confirmation messages: an outbox of their own, written in the transaction that introduces
-- the address and sent (and retried) by the e-mail worker. The link's token is made when the
-- message is sent; only its hash is stored (confirmation_tokens).
CREATE TABLE confirmation_mails (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    address          TEXT NOT NULL,
    address_key      TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    last_attempt_ms  INTEGER,
    last_error       TEXT,
    lease_until_ms   INTEGER,
    created_ms       INTEGER NOT NULL
);
CREATE INDEX confirmation_mails_pending ON confirmation_mails(next_attempt_ms, id) WHERE state = 'pending';
CREATE INDEX confirmation_mails_address ON confirmation_mails(account_id, address_key);

-- The tokens of confirmation links, by SHA-256 (hex) only: a copy of the database confirms
-- nothing. A token works once (`used_ms`) and until `expires_ms`.
CREATE TABLE confirmation_tokens (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    address_key  TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    used_ms      INTEGER
);
CREATE INDEX confirmation_tokens_expiry ON confirmation_tokens(expires_ms);

-- The hourly e-mail budget: e-mails taken per account per minute (Unix minute), kept for the
-- last hour and a minute.
CREATE TABLE email_budget (
    account_id  TEXT NOT NULL,
    minute      INTEGER NOT NULL,
    sent        INTEGER NOT NULL,
    PRIMARY KEY (account_id, minute)
);

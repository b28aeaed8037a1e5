-- Prices: the general list (account_id '') and accounts' own prices, which win over it. Amounts
-- are exact decimal text as the service normalised them (never binary floating point).
CREATE TABLE prices (
    account_id         TEXT NOT NULL DEFAULT '',
    country_code       TEXT NOT NULL,
    phone_number_type  TEXT NOT NULL,
    currency           TEXT NOT NULL,
    setup_price        TEXT NOT NULL,
    monthly_price      TEXT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    PRIMARY KEY (account_id, country_code, phone_number_type)
);

-- The price a request was quoted when it was created (all three null: none). Fixed then: usage
-- and every later view of the request read these, not the price list.
ALTER TABLE number_requests ADD COLUMN price_currency TEXT;
ALTER TABLE number_requests ADD COLUMN price_setup TEXT;
ALTER TABLE number_requests ADD COLUMN price_monthly TEXT;

-- The API log: one row per authenticated customer call, written in batches off the request
-- path and trimmed by age. Ids are time-ordered, so rows arrive at the end of every index.
CREATE TABLE api_log (
    id            TEXT NOT NULL PRIMARY KEY,
    account_id    TEXT NOT NULL,
    occurred_ms   BIGINT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    query         TEXT,
    status        BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    user_agent    TEXT,
    api_key_id    TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    message_code  TEXT
);
CREATE INDEX api_log_account ON api_log(account_id, occurred_ms, id);
CREATE INDEX api_log_time ON api_log(occurred_ms, id);

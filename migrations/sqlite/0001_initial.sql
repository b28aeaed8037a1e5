-- numberdesk schema, SQLite dialect. Times are Unix milliseconds (INTEGER), ids are UUID text,
-- booleans are 0/1: the same column types as the PostgreSQL migration, so one set of queries
-- serves both.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    key_hash    TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);

-- Signing secrets. The newest row is current; older rows sign alongside until valid_until_ms.
CREATE TABLE webhook_secrets (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    secret          TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    valid_until_ms  INTEGER
);
CREATE INDEX webhook_secrets_account ON webhook_secrets(account_id, created_ms);

CREATE TABLE company_profiles (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    body                 TEXT NOT NULL,
    number_country_code  TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_reason        TEXT,
    created_ms           INTEGER NOT NULL,
    updated_ms           INTEGER NOT NULL
);
CREATE INDEX company_profiles_account ON company_profiles(account_id, id);

-- Stock. status: 0 available, 1 assigned, 2 aging (back to 0 at available_at_ms).
CREATE TABLE numbers (
    phone_number       TEXT PRIMARY KEY,
    num                INTEGER NOT NULL,
    country_code       TEXT NOT NULL,
    phone_number_type  TEXT NOT NULL,
    area_code          TEXT NOT NULL DEFAULT '',
    city               TEXT,
    city_key           TEXT NOT NULL DEFAULT '',
    region             TEXT,
    region_key         TEXT NOT NULL DEFAULT '',
    status             INTEGER NOT NULL DEFAULT 0,
    available_at_ms    INTEGER,
    created_ms         INTEGER NOT NULL
);
-- The claim walks this index: equality on the criteria, then the free numbers in order.
CREATE INDEX numbers_claim ON numbers(country_code, phone_number_type, status, area_code, num);
CREATE INDEX numbers_claim_city ON numbers(country_code, phone_number_type, status, city_key, num);
CREATE INDEX numbers_aging ON numbers(available_at_ms) WHERE status = 2;
CREATE UNIQUE INDEX numbers_num ON numbers(num);

-- Aligned blocks of `size` numbers (10, 100, 1000, 10000) that are whole: every number free and
-- all of one country, type, area code, city and region. Kept in the same transaction as every
-- stock change, so a block request reads whole blocks without scanning the stock.
CREATE TABLE whole_blocks (
    size               INTEGER NOT NULL,
    start_num          INTEGER NOT NULL,
    country_code       TEXT NOT NULL,
    phone_number_type  TEXT NOT NULL,
    area_code          TEXT NOT NULL,
    city_key           TEXT NOT NULL,
    region_key         TEXT NOT NULL,
    PRIMARY KEY (size, start_num)
);
CREATE INDEX whole_blocks_area ON whole_blocks(size, country_code, phone_number_type, area_code, start_num);
CREATE INDEX whole_blocks_city ON whole_blocks(size, country_code, phone_number_type, city_key, start_num);

-- status_id: 1 Pending, 2 Accepted, 3 Completed, 4 Rejected, 5 Cancelled.
CREATE TABLE number_requests (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id),
    company_profile_id  TEXT NOT NULL REFERENCES company_profiles(id),
    country_code        TEXT NOT NULL,
    phone_number_type   TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    range_size          INTEGER,
    area_code           TEXT,
    city                TEXT,
    region              TEXT,
    comment             TEXT,
    callback_url        TEXT,
    requires_review     INTEGER NOT NULL DEFAULT 0,
    status_id           INTEGER NOT NULL,
    reason              TEXT NOT NULL,
    created_ms          INTEGER NOT NULL,
    updated_ms          INTEGER NOT NULL
);
CREATE INDEX number_requests_account ON number_requests(account_id, id);
CREATE INDEX number_requests_open ON number_requests(status_id, id);

-- How many requests each account has per profile and status, changed in the same transaction
-- as every insert and status change, so a list's total needs no COUNT over the requests. Each
-- change goes to one of 16 shards picked at random, so concurrent transactions (several
-- PostgreSQL writers) seldom wait on one another's counter row; a total sums the shards.
CREATE TABLE request_counts (
    account_id          TEXT NOT NULL,
    company_profile_id  TEXT NOT NULL,
    status_id           INTEGER NOT NULL,
    shard               INTEGER NOT NULL,
    n                   INTEGER NOT NULL,
    PRIMARY KEY (account_id, company_profile_id, status_id, shard)
);

-- One row per assigned unit (a single number or an aligned block).
CREATE TABLE request_ranges (
    id                  TEXT PRIMARY KEY,
    number_request_id   TEXT NOT NULL REFERENCES number_requests(id),
    start_number        TEXT NOT NULL,
    end_number          TEXT NOT NULL,
    size                INTEGER NOT NULL,
    valid_from_ms       INTEGER NOT NULL,
    valid_to_ms         INTEGER
);
CREATE INDEX request_ranges_request ON request_ranges(number_request_id, start_number);

-- One row per number handed to an account. The partial unique index is the last line of
-- defence: a number can be in one live assignment only.
CREATE TABLE assigned_numbers (
    id                  TEXT PRIMARY KEY,
    phone_number        TEXT NOT NULL REFERENCES numbers(phone_number),
    range_id            TEXT NOT NULL REFERENCES request_ranges(id),
    number_request_id   TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    company_profile_id  TEXT NOT NULL,
    valid_from_ms       INTEGER NOT NULL,
    valid_to_ms         INTEGER
);
CREATE UNIQUE INDEX assigned_numbers_live ON assigned_numbers(phone_number) WHERE valid_to_ms IS NULL;
CREATE INDEX assigned_numbers_account ON assigned_numbers(account_id, id);
CREATE INDEX assigned_numbers_range ON assigned_numbers(range_id);

-- One row per status a request enters; payload is the NumberRequest as GET showed it then.
CREATE TABLE status_events (
    id                  TEXT PRIMARY KEY,
    number_request_id   TEXT NOT NULL REFERENCES number_requests(id),
    account_id          TEXT NOT NULL,
    status_id           INTEGER NOT NULL,
    reason              TEXT NOT NULL,
    occurred_ms         INTEGER NOT NULL,
    payload             TEXT NOT NULL
);
CREATE INDEX status_events_request ON status_events(number_request_id, id);

-- The outbox: one row per event and channel target, written with the event.
CREATE TABLE deliveries (
    id                  TEXT PRIMARY KEY,
    event_id            TEXT NOT NULL REFERENCES status_events(id),
    number_request_id   TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    channel             TEXT NOT NULL,
    target              TEXT NOT NULL,
    state               TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms     INTEGER NOT NULL,
    last_attempt_ms     INTEGER,
    last_error          TEXT,
    lease_until_ms      INTEGER,
    -- attempts made before the last redelivery: the retry schedule restarts from here
    retry_base          INTEGER NOT NULL DEFAULT 0,
    created_ms          INTEGER NOT NULL
);
CREATE INDEX deliveries_event ON deliveries(event_id);
CREATE INDEX deliveries_request ON deliveries(number_request_id, channel, state, event_id);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);

CREATE TABLE idempotency_keys (
    account_id      TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    request_body    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);

CREATE TABLE restrictions (
    country_code         TEXT NOT NULL,
    phone_number_type    TEXT NOT NULL,
    min_quantity         INTEGER NOT NULL,
    max_quantity         INTEGER NOT NULL,
    ranges_supported     INTEGER NOT NULL,
    allowed_range_sizes  TEXT NOT NULL,
    requires_review      INTEGER NOT NULL,
    PRIMARY KEY (country_code, phone_number_type)
);

CREATE TABLE requirements (
    id                 TEXT PRIMARY KEY,
    country_code       TEXT NOT NULL,
    phone_number_type  TEXT NOT NULL,
    position           INTEGER NOT NULL,
    req_type           INTEGER NOT NULL,
    code               TEXT NOT NULL,
    description        TEXT NOT NULL
);
CREATE INDEX requirements_key ON requirements(country_code, phone_number_type, position);

-- Key/value facts about this database (the demo seed marker, ...).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- The claim indexes hold free numbers only: a claim deletes its numbers from them and inserts
-- nothing, half the index work of before (a block of 1,000 touches 2,000 index entries, not 4,000).
DROP INDEX numbers_claim;
DROP INDEX numbers_claim_city;
CREATE INDEX numbers_claim ON numbers(country_code, phone_number_type, area_code, num) WHERE status = 0;
CREATE INDEX numbers_claim_city ON numbers(country_code, phone_number_type, city_key, num) WHERE status = 0;
-- The places in stock whatever their status (locale options, an area code's cities). Status is not
-- in it, so a claim does not touch it.
CREATE INDEX numbers_place ON numbers(country_code, phone_number_type, area_code, city_key, region_key);

-- Assignments, leaner: one b-tree ordered as an account's list reads it, plus the live index. An
-- assignment's id is its range's id followed by the number: unique, and in the order of time
-- and then number. No index on range_id: a release checks its range's numbers in the live index.
-- The numbers and ranges an assignment names are written in the same transaction by the claim,
-- so the foreign keys (two lookups per number) go.
CREATE TABLE assigned_numbers_new (
    id                  TEXT NOT NULL,
    phone_number        TEXT NOT NULL,
    range_id            TEXT NOT NULL,
    number_request_id   TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    company_profile_id  TEXT NOT NULL,
    valid_from_ms       INTEGER NOT NULL,
    valid_to_ms         INTEGER,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
INSERT INTO assigned_numbers_new
    SELECT range_id || phone_number, phone_number, range_id, number_request_id, account_id,
           company_profile_id, valid_from_ms, valid_to_ms
    FROM assigned_numbers;
DROP TABLE assigned_numbers;
ALTER TABLE assigned_numbers_new RENAME TO assigned_numbers;
CREATE UNIQUE INDEX assigned_numbers_live ON assigned_numbers(phone_number) WHERE valid_to_ms IS NULL;

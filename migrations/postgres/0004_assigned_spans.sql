-- An assignment row covers `span` consecutive numbers from `phone_number` (one unit, or what is
-- left held of it after releases), so a block of 1,000 is one row, not 1,000. Rows of before
-- are single numbers (span 1).
ALTER TABLE assigned_numbers ADD COLUMN span BIGINT NOT NULL DEFAULT 1;

-- One row per number held now, with the range it is held under: the unique key is the last
-- line of defence (a number can be in one live assignment only, whatever the claim did), and
-- a release finds its range here. It replaces the partial unique index on assignments, which
-- now names a unit's first number only.
CREATE TABLE live_numbers (
    phone_number        TEXT PRIMARY KEY,
    range_id            TEXT NOT NULL
);
INSERT INTO live_numbers (phone_number, range_id)
    SELECT phone_number, range_id FROM assigned_numbers WHERE valid_to_ms IS NULL;
DROP INDEX assigned_numbers_live;

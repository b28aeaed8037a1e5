-- Every change of a company profile (data, status) adds one to its version; writers guard
-- their UPDATE with the version they read, so no change undoes another one.
ALTER TABLE company_profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Re-verification campaigns: an office opens one over every household not visited for N months,
-- or over one kelurahan (or both), with a deadline. The households are fixed when it opens, so
-- progress per kelurahan is measured against that list; a household counts as visited when a
-- visit dated from the opening day to the deadline is recorded. Nothing is ever suspended by a
-- campaign: households not visited by the deadline are reported.
CREATE TABLE verification_campaigns (
    id                  uuid PRIMARY KEY,
    name                TEXT NOT NULL,
    kelurahan           TEXT,
    not_visited_months  INTEGER CHECK (not_visited_months IS NULL OR not_visited_months BETWEEN 1 AND 60),
    opened_on           TEXT NOT NULL CHECK (length(opened_on) = 10),
    deadline            TEXT NOT NULL CHECK (length(deadline) = 10),
    households          INTEGER NOT NULL CHECK (households >= 0),
    opened_by           uuid NOT NULL REFERENCES users (id),
    opened_at           timestamptz NOT NULL,
    CONSTRAINT verification_campaigns_scope CHECK (kelurahan IS NOT NULL OR not_visited_months IS NOT NULL),
    CONSTRAINT verification_campaigns_deadline CHECK (deadline >= opened_on)
);
CREATE TABLE campaign_households (
    campaign_id   uuid NOT NULL REFERENCES verification_campaigns (id),
    household_id  uuid NOT NULL REFERENCES households (id),
    kelurahan     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, household_id)
);
-- A campaign's households per kelurahan (progress, a verifier's list).
CREATE INDEX campaign_households_kelurahan_idx ON campaign_households (campaign_id, kelurahan, household_id);

-- Dormant balances: households that hold value and have not bought for months are listed for the
-- office; a notice (a letter telling the household what expires and when) is printed and kept
-- with the figures it said. A household's last approved purchase per program is read through
-- the partial index below (approved purchases only, so declines do not grow it).
CREATE TABLE dormancy_notices (
    id                 uuid PRIMARY KEY,
    household_id       uuid NOT NULL REFERENCES households (id),
    program_id         uuid NOT NULL REFERENCES programs (id),
    available_minor    bigint NOT NULL CHECK (available_minor >= 0),
    expiring_minor     bigint NOT NULL CHECK (expiring_minor >= 0),
    expiring_on        TEXT CHECK (expiring_on IS NULL OR length(expiring_on) = 10),
    last_purchase_date TEXT CHECK (last_purchase_date IS NULL OR length(last_purchase_date) = 10),
    idle_months        INTEGER NOT NULL CHECK (idle_months BETWEEN 1 AND 24),
    printed_on         TEXT NOT NULL CHECK (length(printed_on) = 10),
    printed_by         uuid NOT NULL REFERENCES users (id),
    printed_at         timestamptz NOT NULL
);
CREATE INDEX dormancy_notices_household_idx ON dormancy_notices (household_id, printed_at);
CREATE INDEX redemptions_household_purchases_idx ON redemptions (household_id, program_id, business_date)
    WHERE kind = 'purchase' AND response_code = '00';

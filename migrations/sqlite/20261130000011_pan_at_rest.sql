-- Card numbers at rest: a keyed hash to find a card by, the number encrypted, and its last four
-- digits for display (src/auth/pan_vault.rs). The keys live outside the database, so existing
-- rows are converted by the service at start-up (`Store::protect_legacy_pans`), which empties
-- the old `pan` column; after that it stays NULL (kept only so old databases can be converted).
--
-- SQLite cannot drop NOT NULL or a table constraint in place: the table is rebuilt as migration 7
-- rebuilt its tables (foreign keys deferred to the commit, rows copied back under the same name).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE cards_rows AS SELECT * FROM cards;
DROP TABLE cards;
CREATE TABLE cards (
    id            BLOB PRIMARY KEY,
    household_id  BLOB NOT NULL REFERENCES households (id),
    pan           text CHECK (length(pan) = 16),
    status        text NOT NULL CHECK (status IN ('active', 'blocked', 'lost', 'replaced')),
    status_reason text,
    pin_hash      BLOB,
    pin_failures  integer NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
    locked_until  TEXT,
    replaces      BLOB REFERENCES cards (id),
    issued_by     BLOB NOT NULL REFERENCES users (id),
    issued_at     TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    pan_hash      BLOB,
    pan_encrypted BLOB,
    pan_last4     text CHECK (length(pan_last4) = 4 AND pan_last4 NOT GLOB '*[^0-9]*'),
    CONSTRAINT cards_pan_key UNIQUE (pan),
    CONSTRAINT cards_pan_hash_key UNIQUE (pan_hash),
    CONSTRAINT cards_pan_protected_check CHECK (
        (pan IS NULL AND pan_hash IS NOT NULL AND pan_encrypted IS NOT NULL AND pan_last4 IS NOT NULL)
        OR (pan IS NOT NULL AND pan_hash IS NULL))
);
INSERT INTO cards (id, household_id, pan, status, status_reason, pin_hash, pin_failures, locked_until,
                   replaces, issued_by, issued_at, updated_at)
SELECT id, household_id, pan, status, status_reason, pin_hash, pin_failures, locked_until,
       replaces, issued_by, issued_at, updated_at
  FROM temp.cards_rows ORDER BY issued_at;
DROP TABLE temp.cards_rows;
CREATE INDEX cards_household_idx ON cards (household_id);
-- A household holds at most one usable card at a time: a new one only comes by replacement.
CREATE UNIQUE INDEX cards_one_live_card_per_household
    ON cards (household_id) WHERE status IN ('active', 'blocked');

-- Authorised representatives: up to two adults per household who buy on its entitlement with a
-- card and PIN of their own, each valid until a date and revocable at once. A representative
-- takes one of the household's two slots and one of the person's own two (the household they
-- stand in for and at most one other); the partial unique indexes hold both limits under
-- concurrent namings on either engine. A representative stops holding a slot when ended
-- (revoked, or found expired when the slot is next needed).
CREATE TABLE household_representatives (
    id            BLOB PRIMARY KEY,
    household_id  BLOB NOT NULL REFERENCES households (id),
    slot          INTEGER NOT NULL CHECK (slot IN (1, 2)),
    nik           TEXT NOT NULL CHECK (length(nik) = 16 AND nik NOT GLOB '*[^0-9]*'),
    nik_slot      INTEGER NOT NULL CHECK (nik_slot IN (1, 2)),
    name          TEXT NOT NULL,
    sex           TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    birth_date    TEXT NOT NULL CHECK (length(birth_date) = 10),
    relation      TEXT NOT NULL,
    valid_until   TEXT NOT NULL CHECK (length(valid_until) = 10),
    named_by      BLOB NOT NULL REFERENCES users (id),
    named_at      TEXT NOT NULL,
    ended_at      TEXT,
    ended_by      BLOB REFERENCES users (id),
    end_kind      TEXT CHECK (end_kind IN ('revoked', 'expired')),
    end_reason    TEXT,
    CONSTRAINT household_representatives_end CHECK (
        (ended_at IS NULL) = (end_kind IS NULL) AND (ended_at IS NULL) = (end_reason IS NULL))
) STRICT;
CREATE UNIQUE INDEX household_representatives_slot
    ON household_representatives (household_id, slot) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX household_representatives_nik_slot
    ON household_representatives (nik, nik_slot) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX household_representatives_once
    ON household_representatives (household_id, nik) WHERE ended_at IS NULL;
CREATE INDEX household_representatives_household_idx ON household_representatives (household_id);

-- A representative's card belongs to the household (its value is the household's) and names
-- the representative; the household keeps one live card of its own, each representative one.
ALTER TABLE cards ADD COLUMN representative_id BLOB REFERENCES household_representatives (id);
DROP INDEX cards_one_live_card_per_household;
CREATE UNIQUE INDEX cards_one_live_card_per_household
    ON cards (household_id) WHERE status IN ('active', 'blocked') AND representative_id IS NULL;
CREATE UNIQUE INDEX cards_one_live_card_per_representative
    ON cards (representative_id) WHERE status IN ('active', 'blocked') AND representative_id IS NOT NULL;

-- Who may not represent a household: an E-Warung's owner or an operator (by NIK, where known).
ALTER TABLE ewarungs ADD COLUMN owner_nik TEXT
    CHECK (owner_nik IS NULL OR (length(owner_nik) = 16 AND owner_nik NOT GLOB '*[^0-9]*'));
ALTER TABLE users ADD COLUMN nik TEXT
    CHECK (nik IS NULL OR (length(nik) = 16 AND nik NOT GLOB '*[^0-9]*'));
CREATE INDEX ewarungs_owner_nik_idx ON ewarungs (owner_nik) WHERE owner_nik IS NOT NULL;
CREATE INDEX users_nik_idx ON users (nik) WHERE nik IS NOT NULL;

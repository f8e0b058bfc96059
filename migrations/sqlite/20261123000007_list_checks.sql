-- SQLite edition only (PostgreSQL evaluates `IN` lists cheaply and keeps its schema).
--
-- `transfers` and `redemptions` rebuilt with their `x IN (a, b, c, …)` checks written as
-- comparisons: SQLite checks such a list (more than two values) by building a temporary B-tree
-- for every row it inserts or, for `redemptions.state`, updates, which costs more than storing
-- the row (2.6 µs a check, measured; two per transfer, and every redemption writes two transfers
-- and its state twice). Same columns, same rules, same indexes and triggers.
--
-- sqlx runs SQLite migrations inside a transaction, where `foreign_keys = OFF` does nothing, so
-- the rebuild keeps foreign keys on and defers them to the commit: dropping a table orphans the
-- rows that reference it, and putting its rows back into the new table of the same name adopts
-- them again; anything still orphaned fails the commit. (Dropping fires no triggers.)
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE transfers_rows AS SELECT * FROM transfers;
DROP TABLE transfers;
CREATE TABLE transfers (
    id                BLOB PRIMARY KEY,
    program_id        BLOB NOT NULL REFERENCES programs (id),
    debit_account_id  BLOB NOT NULL REFERENCES accounts (id),
    credit_account_id BLOB NOT NULL REFERENCES accounts (id),
    amount_minor      INTEGER NOT NULL CHECK (amount_minor > 0),
    kind              text NOT NULL CHECK (kind = 'quota_load' OR kind = 'hold' OR kind = 'post'
                          OR kind = 'void' OR kind = 'hold_expired' OR kind = 'refund'
                          OR kind = 'expiry' OR kind = 'settlement'),
    pending_id        BLOB REFERENCES transfers (id),
    timeout_at        TEXT,
    reference         text NOT NULL,
    created_at        TEXT NOT NULL,
    CONSTRAINT transfers_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT transfers_hold_has_timeout CHECK ((kind = 'hold') = (timeout_at IS NOT NULL)),
    CONSTRAINT transfers_resolution_names_hold CHECK (
        (kind = 'post' OR kind = 'void' OR kind = 'hold_expired') = (pending_id IS NOT NULL))
);
INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id, amount_minor,
                               kind, pending_id, timeout_at, reference, created_at)
SELECT id, program_id, debit_account_id, credit_account_id, amount_minor, kind, pending_id,
       timeout_at, reference, created_at
FROM temp.transfers_rows ORDER BY id;
DROP TABLE temp.transfers_rows;
-- A hold resolves at most once: posted, voided or expired.
CREATE UNIQUE INDEX transfers_hold_resolves_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_debit_idx ON transfers (debit_account_id);
CREATE INDEX transfers_credit_idx ON transfers (credit_account_id);
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable; correct with a new transfer');
END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable; correct with a new transfer');
END;

CREATE TEMP TABLE redemptions_rows AS SELECT * FROM redemptions;
DROP TABLE redemptions;
CREATE TABLE redemptions (
    id             BLOB PRIMARY KEY,
    terminal_id    text NOT NULL REFERENCES terminals (terminal_id),
    ewarung_id     BLOB NOT NULL REFERENCES ewarungs (id),
    stan           text NOT NULL,
    local_date     text NOT NULL,
    request_hash   BLOB NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('purchase', 'reversal_marker')),
    response_code  text NOT NULL,
    response       BLOB NOT NULL,
    card_id        BLOB REFERENCES cards (id),
    household_id   BLOB REFERENCES households (id),
    program_id     BLOB REFERENCES programs (id),
    amount_minor   INTEGER NOT NULL DEFAULT 0,
    hold_id        BLOB REFERENCES transfers (id),
    state          text NOT NULL CHECK (state = 'declined' OR state = 'held'
                       OR state = 'completed' OR state = 'voided' OR state = 'reversed'
                       OR state = 'expired' OR state = 'refunded'),
    -- The refund transfer of a void or reversal after completion.
    refund_id      BLOB REFERENCES transfers (id),
    rrn            text,
    approval_code  text,
    business_date  text NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    completed_date text,
    undone_date    text,
    CONSTRAINT redemptions_request_key UNIQUE (terminal_id, stan, local_date)
);
INSERT INTO redemptions (id, terminal_id, ewarung_id, stan, local_date, request_hash, kind,
    response_code, response, card_id, household_id, program_id, amount_minor, hold_id, state,
    refund_id, rrn, approval_code, business_date, created_at, updated_at, completed_date,
    undone_date)
SELECT id, terminal_id, ewarung_id, stan, local_date, request_hash, kind, response_code, response,
    card_id, household_id, program_id, amount_minor, hold_id, state, refund_id, rrn,
    approval_code, business_date, created_at, updated_at, completed_date, undone_date
FROM temp.redemptions_rows ORDER BY id;
DROP TABLE temp.redemptions_rows;
CREATE UNIQUE INDEX redemptions_rrn_key ON redemptions (rrn) WHERE rrn IS NOT NULL;
CREATE INDEX redemptions_business_date_idx ON redemptions (business_date, terminal_id);
-- Purchases waiting for completion: few at any time, and what the hold sweeper scans.
CREATE INDEX redemptions_held_idx ON redemptions (hold_id) WHERE state = 'held';
CREATE INDEX redemptions_completed_idx ON redemptions
    (completed_date, program_id, terminal_id, stan, rrn, approval_code, amount_minor, id)
    WHERE completed_date IS NOT NULL;
CREATE INDEX redemptions_undone_date_idx ON redemptions (undone_date, terminal_id) WHERE undone_date IS NOT NULL;

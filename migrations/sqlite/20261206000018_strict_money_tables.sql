-- SQLite edition only: there is no PostgreSQL migration of this number, because PostgreSQL's
-- bigint columns already refuse a value that overflows (an error, never a float).
--
-- The tables that hold money become STRICT: an integer column keeps integers only. SQLite turns
-- an integer sum that overflows 64 bits into a floating-point value, and a column of INTEGER
-- affinity in an ordinary table stores that value as it is; in a STRICT table the statement
-- fails instead ("cannot store REAL value in INTEGER column"), so an overflow is an error that
-- rolls the transaction back, never an inexact balance. `bigint` columns are written INTEGER
-- (the only integer type names STRICT accepts); columns, rules, indexes and triggers are
-- otherwise as they were.
--
-- Rebuilt as migration 7 rebuilt its tables: foreign keys stay on and are deferred to the
-- commit, each table's rows are copied aside, the table dropped, created again under the same
-- name, and its rows put back (which adopts the rows that reference it again).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE accounts_rows AS SELECT * FROM accounts;
DROP TABLE accounts;
CREATE TABLE accounts (
    id              BLOB PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('program_funding', 'entitlement', 'ewarung_payable', 'settlement')),
    program_id      BLOB NOT NULL REFERENCES programs (id),
    household_id    BLOB REFERENCES households (id),
    ewarung_id      BLOB REFERENCES ewarungs (id),
    debits_pending  INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      TEXT NOT NULL,
    CONSTRAINT accounts_owner_check CHECK (
        (kind = 'entitlement') = (household_id IS NOT NULL)
        AND (kind = 'ewarung_payable') = (ewarung_id IS NOT NULL)),
    -- A household's entitlement and an E-Warung's payable never go below zero, holds included.
    CONSTRAINT accounts_no_overdraft CHECK (
        kind NOT IN ('entitlement', 'ewarung_payable')
        OR debits_pending + debits_posted <= credits_posted)
) STRICT;
INSERT INTO accounts SELECT * FROM temp.accounts_rows;
DROP TABLE temp.accounts_rows;
CREATE UNIQUE INDEX accounts_entitlement_key ON accounts (household_id, program_id) WHERE kind = 'entitlement';
CREATE UNIQUE INDEX accounts_payable_key ON accounts (ewarung_id, program_id) WHERE kind = 'ewarung_payable';
CREATE UNIQUE INDEX accounts_funding_key ON accounts (program_id) WHERE kind = 'program_funding';
CREATE UNIQUE INDEX accounts_settlement_key ON accounts (program_id) WHERE kind = 'settlement';

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
) STRICT;
INSERT INTO transfers SELECT * FROM temp.transfers_rows;
DROP TABLE temp.transfers_rows;
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

CREATE TEMP TABLE quota_batches_rows AS SELECT * FROM quota_batches;
DROP TABLE quota_batches;
CREATE TABLE quota_batches (
    id           BLOB PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('validating', 'invalid', 'validated', 'posted')),
    source_name  text NOT NULL,
    uploaded_by  BLOB NOT NULL REFERENCES users (id),
    uploaded_at  TEXT NOT NULL,
    approved_by  BLOB REFERENCES users (id),
    approved_at  TEXT,
    row_count    INTEGER NOT NULL DEFAULT 0,
    error_count  INTEGER NOT NULL DEFAULT 0,
    total_minor  INTEGER NOT NULL DEFAULT 0,
    household_count INTEGER NOT NULL DEFAULT 0,
    -- Maker-checker, in the schema too: the uploader can never approve their own batch.
    CONSTRAINT quota_batches_maker_checker CHECK (approved_by IS NULL OR approved_by <> uploaded_by)
) STRICT;
INSERT INTO quota_batches SELECT * FROM temp.quota_batches_rows;
DROP TABLE temp.quota_batches_rows;

CREATE TEMP TABLE quota_lines_rows AS SELECT * FROM quota_lines;
DROP TABLE quota_lines;
CREATE TABLE quota_lines (
    batch_id     BLOB NOT NULL,
    line_no      INTEGER NOT NULL,
    program_id   BLOB NOT NULL,
    kk_number    text NOT NULL,
    household_id BLOB NOT NULL,
    period       text NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    outcome      text NOT NULL CHECK (outcome = 'credited' OR outcome = 'already_loaded'
                                      OR outcome = 'skipped_suspended' OR outcome = 'skipped_exited'),
    transfer_id  BLOB NOT NULL,
    account_id   BLOB NOT NULL,
    CONSTRAINT quota_lines_pkey PRIMARY KEY (batch_id, line_no)
) STRICT;
INSERT INTO quota_lines SELECT * FROM temp.quota_lines_rows;
DROP TABLE temp.quota_lines_rows;

CREATE TEMP TABLE quota_credits_rows AS SELECT * FROM quota_credits;
DROP TABLE quota_credits;
CREATE TABLE quota_credits (
    program_id   BLOB NOT NULL REFERENCES programs (id),
    household_id BLOB NOT NULL REFERENCES households (id),
    period       text NOT NULL,
    batch_id     BLOB NOT NULL REFERENCES quota_batches (id),
    transfer_id  BLOB NOT NULL REFERENCES transfers (id),
    amount_minor INTEGER NOT NULL,
    CONSTRAINT quota_credits_pkey PRIMARY KEY (program_id, household_id, period)
) STRICT;
INSERT INTO quota_credits SELECT * FROM temp.quota_credits_rows;
DROP TABLE temp.quota_credits_rows;

CREATE TEMP TABLE quota_batch_outcomes_rows AS SELECT * FROM quota_batch_outcomes;
DROP TABLE quota_batch_outcomes;
CREATE TABLE quota_batch_outcomes (
    batch_id     BLOB NOT NULL REFERENCES quota_batches (id),
    outcome      text NOT NULL CHECK (outcome IN
                     ('credited', 'already_loaded', 'skipped_suspended', 'skipped_exited')),
    row_count    INTEGER NOT NULL CHECK (row_count > 0),
    amount_minor INTEGER NOT NULL,
    CONSTRAINT quota_batch_outcomes_pkey PRIMARY KEY (batch_id, outcome)
) STRICT;
INSERT INTO quota_batch_outcomes SELECT * FROM temp.quota_batch_outcomes_rows;
DROP TABLE temp.quota_batch_outcomes_rows;

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
) STRICT;
INSERT INTO redemptions SELECT * FROM temp.redemptions_rows;
DROP TABLE temp.redemptions_rows;
CREATE UNIQUE INDEX redemptions_rrn_key ON redemptions (rrn) WHERE rrn IS NOT NULL;
CREATE INDEX redemptions_business_date_idx ON redemptions (business_date, terminal_id);
CREATE INDEX redemptions_held_idx ON redemptions (hold_id) WHERE state = 'held';
CREATE INDEX redemptions_completed_idx ON redemptions
    (completed_date, program_id, terminal_id, stan, rrn, approval_code, amount_minor, id)
    WHERE completed_date IS NOT NULL;
CREATE INDEX redemptions_undone_date_idx ON redemptions (undone_date, terminal_id) WHERE undone_date IS NOT NULL;

CREATE TEMP TABLE terminal_batch_totals_rows AS SELECT * FROM terminal_batch_totals;
DROP TABLE terminal_batch_totals;
CREATE TABLE terminal_batch_totals (
    id                      BLOB PRIMARY KEY,
    terminal_id             text NOT NULL REFERENCES terminals (terminal_id),
    business_date           text NOT NULL,
    purchases_count         INTEGER NOT NULL,
    purchases_minor         INTEGER NOT NULL,
    refunds_count           INTEGER NOT NULL,
    refunds_minor           INTEGER NOT NULL,
    reversals_count         INTEGER NOT NULL,
    reversals_minor         INTEGER NOT NULL,
    host_purchases_count    INTEGER NOT NULL,
    host_purchases_minor    INTEGER NOT NULL,
    host_refunds_count      INTEGER NOT NULL,
    host_refunds_minor      INTEGER NOT NULL,
    host_reversals_count    INTEGER NOT NULL,
    host_reversals_minor    INTEGER NOT NULL,
    matched                 INTEGER NOT NULL,
    received_at             TEXT NOT NULL
) STRICT;
INSERT INTO terminal_batch_totals SELECT * FROM temp.terminal_batch_totals_rows;
DROP TABLE temp.terminal_batch_totals_rows;
CREATE INDEX terminal_batch_totals_date_idx ON terminal_batch_totals (business_date, terminal_id);

CREATE TEMP TABLE recon_exceptions_rows AS SELECT * FROM recon_exceptions;
DROP TABLE recon_exceptions;
CREATE TABLE recon_exceptions (
    id                BLOB PRIMARY KEY,
    run_id            BLOB NOT NULL REFERENCES recon_runs (id),
    category          text NOT NULL CHECK (category IN
                          ('amount_mismatch', 'host_only', 'bank_only', 'duplicate', 'malformed')),
    line_no           INTEGER,
    terminal_id       text,
    stan              text,
    rrn               text,
    approval_code     text,
    entry_type        text,
    bank_amount_minor INTEGER,
    host_amount_minor INTEGER,
    ewarung_id        BLOB REFERENCES ewarungs (id),
    redemption_id     BLOB REFERENCES redemptions (id),
    detail            text NOT NULL,
    resolved_by       BLOB REFERENCES users (id),
    resolved_at       TEXT,
    resolution        text,
    detail_code       TEXT,
    detail_args       TEXT,
    CONSTRAINT recon_exceptions_resolution_check CHECK ((resolved_by IS NULL) = (resolution IS NULL))
) STRICT;
INSERT INTO recon_exceptions SELECT * FROM temp.recon_exceptions_rows;
DROP TABLE temp.recon_exceptions_rows;
CREATE INDEX recon_exceptions_run_idx ON recon_exceptions (run_id, category);

CREATE TEMP TABLE recon_payables_rows AS SELECT * FROM recon_payables;
DROP TABLE recon_payables;
CREATE TABLE recon_payables (
    run_id       BLOB NOT NULL REFERENCES recon_runs (id),
    ewarung_id   BLOB NOT NULL REFERENCES ewarungs (id),
    program_id   BLOB NOT NULL REFERENCES programs (id),
    items        INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    CONSTRAINT recon_payables_pkey PRIMARY KEY (run_id, ewarung_id, program_id)
) STRICT;
INSERT INTO recon_payables SELECT * FROM temp.recon_payables_rows;
DROP TABLE temp.recon_payables_rows;

CREATE TEMP TABLE settlement_entries_rows AS SELECT * FROM settlement_entries;
DROP TABLE settlement_entries;
CREATE TABLE settlement_entries (
    id                   BLOB PRIMARY KEY,
    business_date        text NOT NULL REFERENCES day_closes (business_date),
    ewarung_id           BLOB NOT NULL REFERENCES ewarungs (id),
    program_id           BLOB NOT NULL REFERENCES programs (id),
    run_id               BLOB NOT NULL REFERENCES recon_runs (id),
    -- The ledger transfer; none when nothing moved (an entry that records a zero match).
    transfer_id          BLOB UNIQUE REFERENCES transfers (id),
    -- Matched lines and amount of the run, and what earlier entries had settled.
    items                INTEGER NOT NULL,
    matched_minor        INTEGER NOT NULL,
    settled_before_minor INTEGER NOT NULL,
    -- This entry: matched less settled before (negative: an adjustment recovered from the kiosk).
    amount_minor         INTEGER NOT NULL,
    created_by           BLOB NOT NULL REFERENCES users (id),
    created_at           text NOT NULL,
    CONSTRAINT settlement_entries_difference_check CHECK (amount_minor = matched_minor - settled_before_minor),
    CONSTRAINT settlement_entries_transfer_check CHECK ((amount_minor = 0) = (transfer_id IS NULL))
) STRICT;
INSERT INTO settlement_entries SELECT * FROM temp.settlement_entries_rows;
DROP TABLE temp.settlement_entries_rows;
CREATE INDEX settlement_entries_date_idx ON settlement_entries (business_date, ewarung_id, program_id, created_at);

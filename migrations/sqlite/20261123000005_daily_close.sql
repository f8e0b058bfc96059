-- Daily close, reconciliation against the bank's file, and settlement to E-Warungs.
--
-- A redemption's value moves on up to two days: the day it was completed (the E-Warung is owed)
-- and the day it was undone (voided, reversed, expired or refunded). Those are stamped on the row
-- as the business date open at the time, which is never a closed one.
ALTER TABLE redemptions ADD COLUMN completed_date text;
ALTER TABLE redemptions ADD COLUMN undone_date text;
UPDATE redemptions SET completed_date = business_date
 WHERE kind = 'purchase' AND (state IN ('completed', 'refunded') OR (state = 'reversed' AND refund_id IS NOT NULL));
UPDATE redemptions SET undone_date = business_date
 WHERE kind = 'purchase' AND state IN ('voided', 'reversed', 'expired', 'refunded');
-- Covers reconciliation's read of a day's completed purchases (per program and terminal) so it
-- never touches the wide rows; the close uses it too.
CREATE INDEX redemptions_completed_idx ON redemptions
    (completed_date, program_id, terminal_id, stan, rrn, approval_code, amount_minor, id)
    WHERE completed_date IS NOT NULL;
CREATE INDEX redemptions_undone_date_idx ON redemptions (undone_date, terminal_id) WHERE undone_date IS NOT NULL;

-- One row: the cut-off (minutes after local midnight, WITA, from which activity belongs to the
-- next day) and the last closed date. Every transaction that stamps a business date reads it
-- (on PostgreSQL with FOR SHARE), and a close updates it, so no activity lands on a closed date.
CREATE TABLE business_calendar (
    id               integer PRIMARY KEY CHECK (id = 1),
    cutoff_minutes   integer NOT NULL DEFAULT 0 CHECK (cutoff_minutes >= 0 AND cutoff_minutes < 1440),
    last_closed_date text
);
INSERT INTO business_calendar (id, cutoff_minutes, last_closed_date) VALUES (1, 0, NULL);

-- A closed date and what the close reported; closing again returns this row unchanged.
CREATE TABLE day_closes (
    business_date text PRIMARY KEY,
    closed_at     TEXT NOT NULL,
    closed_by     BLOB NOT NULL REFERENCES users (id),
    report        TEXT NOT NULL
);

-- A reconciliation run: the bank's file for a closed date. The same file (by SHA-256) for the
-- same date is one run; running it again returns that run.
CREATE TABLE recon_runs (
    id            BLOB PRIMARY KEY,
    business_date text NOT NULL REFERENCES day_closes (business_date),
    file_name     text NOT NULL,
    file_sha256   text,
    status        text NOT NULL CHECK (status IN ('running', 'finished')),
    created_by    BLOB NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    report        TEXT,
    CONSTRAINT recon_runs_finished_check CHECK ((status = 'finished') = (report IS NOT NULL AND file_sha256 IS NOT NULL))
);
CREATE UNIQUE INDEX recon_runs_file_key ON recon_runs (business_date, file_sha256) WHERE status = 'finished';

-- Every line of either side that did not match, one row each, open until resolved with a reason.
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
    CONSTRAINT recon_exceptions_resolution_check CHECK ((resolved_by IS NULL) = (resolution IS NULL))
);
CREATE INDEX recon_exceptions_run_idx ON recon_exceptions (run_id, category);

-- What a run found payable: matched sales less matched refunds, per E-Warung and program.
CREATE TABLE recon_payables (
    run_id       BLOB NOT NULL REFERENCES recon_runs (id),
    ewarung_id   BLOB NOT NULL REFERENCES ewarungs (id),
    program_id   BLOB NOT NULL REFERENCES programs (id),
    items        INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    CONSTRAINT recon_payables_pkey PRIMARY KEY (run_id, ewarung_id, program_id)
);

-- Settlement: once per date, E-Warung and program. The transfer moves the matched amount from the
-- E-Warung's payable to the program's settlement account (none when nothing is owed).
CREATE TABLE settlements (
    business_date text NOT NULL REFERENCES day_closes (business_date),
    ewarung_id    BLOB NOT NULL REFERENCES ewarungs (id),
    program_id    BLOB NOT NULL REFERENCES programs (id),
    run_id        BLOB NOT NULL REFERENCES recon_runs (id),
    transfer_id   BLOB REFERENCES transfers (id),
    items         INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    created_by    BLOB NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    CONSTRAINT settlements_pkey PRIMARY KEY (business_date, ewarung_id, program_id)
);

-- The money core: accounts and immutable, balanced transfers; quota batches (maker-checker);
-- redemption requests keyed for idempotency.
--
-- Accounts keep four running totals in minor units (sen). A hold is a pending transfer: it raises
-- debits_pending/credits_pending; posting or voiding it is a new transfer that names the hold in
-- pending_id, and a unique index lets a hold resolve once. Transfers are never updated or deleted.

CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('program_funding', 'entitlement', 'ewarung_payable', 'settlement')),
    program_id      uuid NOT NULL REFERENCES programs (id),
    household_id    uuid REFERENCES households (id),
    ewarung_id      uuid REFERENCES ewarungs (id),
    debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      timestamptz NOT NULL,
    CONSTRAINT accounts_owner_check CHECK (
        (kind = 'entitlement') = (household_id IS NOT NULL)
        AND (kind = 'ewarung_payable') = (ewarung_id IS NOT NULL)),
    -- A household's entitlement and an E-Warung's payable never go below zero, holds included.
    CONSTRAINT accounts_no_overdraft CHECK (
        kind NOT IN ('entitlement', 'ewarung_payable')
        OR debits_pending + debits_posted <= credits_posted)
);
-- One account per owner. Each partial index names its kind literally, so that queries naming the
-- same kind can use it (SQLite only matches a partial index whose condition the query repeats).
CREATE UNIQUE INDEX accounts_entitlement_key ON accounts (household_id, program_id) WHERE kind = 'entitlement';
CREATE UNIQUE INDEX accounts_payable_key ON accounts (ewarung_id, program_id) WHERE kind = 'ewarung_payable';
CREATE UNIQUE INDEX accounts_funding_key ON accounts (program_id) WHERE kind = 'program_funding';
CREATE UNIQUE INDEX accounts_settlement_key ON accounts (program_id) WHERE kind = 'settlement';

CREATE TABLE transfers (
    id                uuid PRIMARY KEY,
    program_id        uuid NOT NULL REFERENCES programs (id),
    debit_account_id  uuid NOT NULL REFERENCES accounts (id),
    credit_account_id uuid NOT NULL REFERENCES accounts (id),
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    kind              text NOT NULL CHECK (kind IN
                          ('quota_load', 'hold', 'post', 'void', 'hold_expired', 'refund', 'expiry', 'settlement')),
    pending_id        uuid REFERENCES transfers (id),
    timeout_at        timestamptz,
    reference         text NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT transfers_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT transfers_hold_has_timeout CHECK ((kind = 'hold') = (timeout_at IS NOT NULL)),
    CONSTRAINT transfers_resolution_names_hold CHECK (
        (kind IN ('post', 'void', 'hold_expired')) = (pending_id IS NOT NULL))
);
-- A hold resolves at most once: posted, voided or expired.
CREATE UNIQUE INDEX transfers_hold_resolves_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_debit_idx ON transfers (debit_account_id);
CREATE INDEX transfers_credit_idx ON transfers (credit_account_id);

CREATE FUNCTION transfers_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfers are immutable; correct with a new transfer';
END
$$;
CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_are_immutable();

CREATE TABLE quota_batches (
    id           uuid PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('validating', 'invalid', 'validated', 'posted')),
    source_name  text NOT NULL,
    uploaded_by  uuid NOT NULL REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL,
    approved_by  uuid REFERENCES users (id),
    approved_at  timestamptz,
    row_count    bigint NOT NULL DEFAULT 0,
    error_count  bigint NOT NULL DEFAULT 0,
    total_minor  bigint NOT NULL DEFAULT 0,
    -- Maker-checker, in the schema too: the uploader can never approve their own batch.
    CONSTRAINT quota_batches_maker_checker CHECK (approved_by IS NULL OR approved_by <> uploaded_by)
);

-- Staging for an uploaded file: one row per good line. It is filled a chunk at a time by code that
-- has already checked every reference (program, household), so it carries no foreign keys and no
-- index beyond its key: a million-row upload costs little more than writing the rows.
CREATE TABLE quota_lines (
    batch_id     uuid NOT NULL,
    line_no      bigint NOT NULL,
    program_id   uuid NOT NULL,
    kk_number    text NOT NULL,
    household_id uuid NOT NULL,
    period       text NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    -- At upload: what posting would do then. At posting: what it did.
    outcome      text NOT NULL CHECK (outcome IN
                     ('credited', 'already_loaded', 'skipped_suspended', 'skipped_exited')),
    -- Ids chosen at upload, so that posting is one set-based statement on either engine.
    transfer_id  uuid NOT NULL,
    account_id   uuid NOT NULL,
    CONSTRAINT quota_lines_pkey PRIMARY KEY (batch_id, line_no)
);

CREATE TABLE quota_errors (
    batch_id uuid NOT NULL REFERENCES quota_batches (id),
    line_no  bigint NOT NULL,
    field    text NOT NULL,
    code     text NOT NULL,
    message  text NOT NULL
);
CREATE INDEX quota_errors_batch_idx ON quota_errors (batch_id, line_no);

-- A household is credited at most once per program and period, across all batches.
CREATE TABLE quota_credits (
    program_id   uuid NOT NULL REFERENCES programs (id),
    household_id uuid NOT NULL REFERENCES households (id),
    period       text NOT NULL,
    batch_id     uuid NOT NULL REFERENCES quota_batches (id),
    transfer_id  uuid NOT NULL REFERENCES transfers (id),
    amount_minor bigint NOT NULL,
    CONSTRAINT quota_credits_pkey PRIMARY KEY (program_id, household_id, period)
);

-- Redemption requests from terminals: (terminal, STAN, local date) identifies one; the stored
-- answer is replayed byte for byte.
CREATE TABLE redemptions (
    id             uuid PRIMARY KEY,
    terminal_id    text NOT NULL REFERENCES terminals (terminal_id),
    ewarung_id     uuid NOT NULL REFERENCES ewarungs (id),
    stan           text NOT NULL,
    local_date     text NOT NULL,
    request_hash   bytea NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('purchase', 'reversal_marker')),
    response_code  text NOT NULL,
    response       bytea NOT NULL,
    card_id        uuid REFERENCES cards (id),
    household_id   uuid REFERENCES households (id),
    program_id     uuid REFERENCES programs (id),
    amount_minor   bigint NOT NULL DEFAULT 0,
    hold_id        uuid REFERENCES transfers (id),
    state          text NOT NULL CHECK (state IN
                       ('declined', 'held', 'completed', 'voided', 'reversed', 'expired', 'refunded')),
    -- The refund transfer of a void or reversal after completion.
    refund_id      uuid REFERENCES transfers (id),
    rrn            text,
    approval_code  text,
    business_date  text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT redemptions_request_key UNIQUE (terminal_id, stan, local_date)
);
CREATE UNIQUE INDEX redemptions_rrn_key ON redemptions (rrn) WHERE rrn IS NOT NULL;
CREATE INDEX redemptions_business_date_idx ON redemptions (business_date, terminal_id);
-- Purchases waiting for completion: few at any time, and what the hold sweeper scans.
CREATE INDEX redemptions_held_idx ON redemptions (hold_id) WHERE state = 'held';

-- Retrieval reference numbers come from a sequence: unique by construction, and taking one never
-- waits for another transaction.
CREATE SEQUENCE rrn_seq;

-- Settlement pays differences. A date may be reconciled again (the bank sends its complete file
-- after a partial one, or corrects one), so settlement is no longer once per date, E-Warung and
-- program: each settle posts the difference between what the date's authoritative run matched and
-- what was settled before, as a new entry and a new transfer (a negative entry, a transfer back
-- from settlement to the payable, when a later run matched less).

-- Which run of a date settlement pays from: the newest upload (a new file's run when it finishes,
-- or an earlier run when its file is sent again).
CREATE TABLE recon_authority (
    business_date text PRIMARY KEY REFERENCES day_closes (business_date),
    run_id        uuid NOT NULL REFERENCES recon_runs (id),
    chosen_by     uuid NOT NULL REFERENCES users (id),
    chosen_at     timestamptz NOT NULL
);
INSERT INTO recon_authority (business_date, run_id, chosen_by, chosen_at)
SELECT DISTINCT ON (business_date) business_date, id, created_by, finished_at
  FROM recon_runs WHERE status = 'finished'
 ORDER BY business_date, finished_at DESC, id DESC;


CREATE TABLE settlement_entries (
    id                   uuid PRIMARY KEY,
    business_date        text NOT NULL REFERENCES day_closes (business_date),
    ewarung_id           uuid NOT NULL REFERENCES ewarungs (id),
    program_id           uuid NOT NULL REFERENCES programs (id),
    run_id               uuid NOT NULL REFERENCES recon_runs (id),
    -- The ledger transfer; none when nothing moved (an entry that records a zero match).
    transfer_id          uuid UNIQUE REFERENCES transfers (id),
    -- Matched lines and amount of the run, and what earlier entries had settled.
    items                bigint NOT NULL,
    matched_minor        bigint NOT NULL,
    settled_before_minor bigint NOT NULL,
    -- This entry: matched less settled before (negative: an adjustment recovered from the kiosk).
    amount_minor         bigint NOT NULL,
    created_by           uuid NOT NULL REFERENCES users (id),
    created_at           timestamptz NOT NULL,
    CONSTRAINT settlement_entries_difference_check CHECK (amount_minor = matched_minor - settled_before_minor),
    CONSTRAINT settlement_entries_transfer_check CHECK ((amount_minor = 0) = (transfer_id IS NULL))
);
CREATE INDEX settlement_entries_date_idx ON settlement_entries (business_date, ewarung_id, program_id, created_at);

INSERT INTO settlement_entries (id, business_date, ewarung_id, program_id, run_id, transfer_id, items,
                                matched_minor, settled_before_minor, amount_minor, created_by, created_at)
SELECT gen_random_uuid(), business_date, ewarung_id, program_id, run_id, transfer_id, items,
       GREATEST(amount_minor, 0), 0, GREATEST(amount_minor, 0), created_by, created_at
  FROM settlements;
DROP TABLE settlements;

-- Settlement pays differences. A date may be reconciled again (the bank sends its complete file
-- after a partial one, or corrects one), so settlement is no longer once per date, E-Warung and
-- program: each settle posts the difference between what the date's authoritative run matched and
-- what was settled before, as a new entry and a new transfer (a negative entry, a transfer back
-- from settlement to the payable, when a later run matched less).

-- Which run of a date settlement pays from: the newest upload (a new file's run when it finishes,
-- or an earlier run when its file is sent again).
CREATE TABLE recon_authority (
    business_date text PRIMARY KEY REFERENCES day_closes (business_date),
    run_id        BLOB NOT NULL REFERENCES recon_runs (id),
    chosen_by     BLOB NOT NULL REFERENCES users (id),
    chosen_at     text NOT NULL
);
INSERT INTO recon_authority (business_date, run_id, chosen_by, chosen_at)
SELECT r.business_date, r.id, r.created_by, r.finished_at
  FROM recon_runs r
 WHERE r.status = 'finished'
   AND NOT EXISTS (SELECT 1 FROM recon_runs n
                    WHERE n.business_date = r.business_date AND n.status = 'finished'
                      AND (n.finished_at > r.finished_at OR (n.finished_at = r.finished_at AND n.id > r.id)));


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
);
CREATE INDEX settlement_entries_date_idx ON settlement_entries (business_date, ewarung_id, program_id, created_at);

INSERT INTO settlement_entries (id, business_date, ewarung_id, program_id, run_id, transfer_id, items,
                                matched_minor, settled_before_minor, amount_minor, created_by, created_at)
SELECT randomblob(16), business_date, ewarung_id, program_id, run_id, transfer_id, items,
       max(amount_minor, 0), 0, max(amount_minor, 0), created_by, created_at
  FROM settlements;
DROP TABLE settlements;

-- A terminal's own batch totals for a business date (sent at batch close), next to the host's
-- totals for the same terminal and date when they arrived. A mismatch is kept, never overwritten:
-- every submission is a row. The daily close reads these.
CREATE TABLE terminal_batch_totals (
    id                      BLOB PRIMARY KEY,
    terminal_id             text NOT NULL REFERENCES terminals (terminal_id),
    business_date           text NOT NULL,
    purchases_count         bigint NOT NULL,
    purchases_minor         bigint NOT NULL,
    refunds_count           bigint NOT NULL,
    refunds_minor           bigint NOT NULL,
    reversals_count         bigint NOT NULL,
    reversals_minor         bigint NOT NULL,
    host_purchases_count    bigint NOT NULL,
    host_purchases_minor    bigint NOT NULL,
    host_refunds_count      bigint NOT NULL,
    host_refunds_minor      bigint NOT NULL,
    host_reversals_count    bigint NOT NULL,
    host_reversals_minor    bigint NOT NULL,
    matched                 INTEGER NOT NULL,
    received_at             TEXT NOT NULL
);
CREATE INDEX terminal_batch_totals_date_idx ON terminal_batch_totals (business_date, terminal_id);

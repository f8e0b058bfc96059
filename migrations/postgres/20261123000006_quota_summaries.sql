-- A batch's summary kept with the batch, written once when its upload is settled (and again when
-- it is posted), so that a report never counts or groups a million staged lines.
ALTER TABLE quota_batches ADD COLUMN household_count bigint NOT NULL DEFAULT 0;

UPDATE quota_batches SET household_count =
    (SELECT count(DISTINCT household_id) FROM quota_lines l WHERE l.batch_id = quota_batches.id);

CREATE TABLE quota_batch_outcomes (
    batch_id     uuid NOT NULL REFERENCES quota_batches (id),
    outcome      text NOT NULL CHECK (outcome IN
                     ('credited', 'already_loaded', 'skipped_suspended', 'skipped_exited')),
    row_count    bigint NOT NULL CHECK (row_count > 0),
    amount_minor bigint NOT NULL,
    CONSTRAINT quota_batch_outcomes_pkey PRIMARY KEY (batch_id, outcome)
);

INSERT INTO quota_batch_outcomes (batch_id, outcome, row_count, amount_minor)
SELECT batch_id, outcome, count(*), sum(amount_minor) FROM quota_lines GROUP BY batch_id, outcome;

-- Complaints: from the office's desk (walk-in, phone) or the beneficiary's own page (/saldo),
-- about a household's experience with an E-Warung, a card, a balance or its data; linked to the
-- household, and where there is one to a card, an E-Warung and a purchase (by its RRN). A
-- complaint is answered by its due date (filing + the severity's target); one filed as the third
-- about the same E-Warung within six months is escalated at once (repeat_escalation); one past
-- its due date counts as escalated when read. Resolved with an outcome and why.
CREATE TABLE complaints (
    id                uuid PRIMARY KEY,
    number            bigint NOT NULL,
    household_id      uuid NOT NULL REFERENCES households (id),
    card_id           uuid REFERENCES cards (id),
    ewarung_id        uuid REFERENCES ewarungs (id),
    redemption_id     uuid REFERENCES redemptions (id),
    rrn               TEXT,
    channel           TEXT NOT NULL CHECK (channel IN ('walk_in', 'phone', 'saldo')),
    category          TEXT NOT NULL CHECK (category IN ('forced_package', 'price_above_cap',
                          'card_kept', 'refused_service', 'wrong_balance', 'data_error', 'other')),
    severity          TEXT NOT NULL CHECK (severity IN ('high', 'normal', 'low')),
    description       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    assigned_to       uuid REFERENCES users (id),
    due_at            timestamptz NOT NULL,
    repeat_escalation boolean NOT NULL,
    -- NULL: filed by the beneficiary on /saldo.
    created_by        uuid REFERENCES users (id),
    created_at        timestamptz NOT NULL,
    resolved_by       uuid REFERENCES users (id),
    resolved_at       timestamptz,
    outcome           TEXT CHECK (outcome IN ('upheld', 'partly_upheld', 'rejected', 'referred')),
    outcome_reason    TEXT,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT complaints_resolution CHECK ((state = 'resolved') = (outcome IS NOT NULL)
                                            AND (outcome IS NULL) = (outcome_reason IS NULL)
                                            AND (outcome IS NULL) = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX complaints_number_key ON complaints (number);
-- The office's queue (open ones by due date), an E-Warung's complaints (its page, and the
-- count that escalates the third within six months), a household's.
CREATE INDEX complaints_queue_idx ON complaints (state, due_at);
CREATE INDEX complaints_ewarung_idx ON complaints (ewarung_id, created_at);
CREATE INDEX complaints_household_idx ON complaints (household_id, created_at);

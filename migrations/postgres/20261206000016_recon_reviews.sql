-- Four eyes on the bank's runs. A run that would take money back from an E-Warung, lower what a
-- date owes one, or whose unreadable or unmatched share of lines is above the threshold does not
-- become the date's authoritative run when it finishes: it waits here for a second bank user to
-- confirm or reject it, and settlement keeps paying from the previous authoritative run meanwhile.
CREATE TABLE recon_reviews (
    run_id        uuid PRIMARY KEY REFERENCES recon_runs (id),
    business_date text NOT NULL REFERENCES day_closes (business_date),
    -- Why the run waits: comma-separated reason codes.
    reasons       text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'superseded')),
    requested_by  uuid NOT NULL REFERENCES users (id),
    requested_at  timestamptz NOT NULL,
    decided_by    uuid REFERENCES users (id),
    decided_at    timestamptz,
    note          text,
    CONSTRAINT recon_reviews_decided_check CHECK ((status = 'pending') = (decided_at IS NULL)),
    CONSTRAINT recon_reviews_second_user CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX recon_reviews_pending ON recon_reviews (business_date) WHERE status = 'pending';

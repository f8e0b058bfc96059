-- A terminal's refund is a request of its own (its own STAN) that names the purchase it returns.
-- Keeping each one, with its answer, makes a refund idempotent under its own key and lets the
-- host refuse a second refund of the same purchase under a new STAN (94) instead of approving it
-- again, which a terminal would count twice.
CREATE TABLE refund_requests (
    id            uuid PRIMARY KEY,
    terminal_id   text NOT NULL REFERENCES terminals (terminal_id),
    stan          text NOT NULL,
    local_date    text NOT NULL,
    request_hash  bytea NOT NULL,
    -- The purchase it names, when there is one.
    redemption_id uuid REFERENCES redemptions (id),
    response_code text NOT NULL,
    response      bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT refund_requests_key UNIQUE (terminal_id, stan, local_date)
);
-- One approved refund per purchase, whatever STANs ask for it.
CREATE UNIQUE INDEX refund_requests_one_approved ON refund_requests (redemption_id)
    WHERE response_code = '00';

-- Change requests: every change to a household's identity or eligibility (its data, status,
-- members, head, or a new household) is proposed, then decided by an office user who is not its
-- author. Approving applies it in the household's own transaction (state 'applied'; so no
-- request is ever approved but not applied). `proposal` holds the proposed change as JSON, read
-- again by the registry's own checks when it is applied. While a request with `blocks_cards`
-- (moved away, head deceased) is submitted or returned for correction, the household's cards
-- are refused at the terminal (response code 78) and its balance is kept.
CREATE TABLE change_requests (
    -- `number` is what people quote ("permohonan #12"): the next after the highest.
    id               BLOB PRIMARY KEY,
    number           INTEGER NOT NULL,
    household_id     BLOB REFERENCES households (id),
    kind             TEXT NOT NULL CHECK (kind IN ('data', 'status', 'member_add',
                         'member_correct', 'member_remove', 'head', 'new_household')),
    proposal         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    -- The household's revision the request was written against; applying it later refuses
    -- the change if the household moved on (the author rewrites it).
    base_revision    INTEGER,
    kelurahan        TEXT NOT NULL,
    blocks_cards     INTEGER NOT NULL CHECK (blocks_cards IN (0, 1)),
    state            TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'returned',
                         'applied', 'rejected')),
    created_by       BLOB NOT NULL REFERENCES users (id),
    created_at       TEXT NOT NULL,
    submitted_at     TEXT,
    decided_by       BLOB REFERENCES users (id),
    decided_at       TEXT,
    decision_note    TEXT,
    applied_revision INTEGER,
    updated_at       TEXT NOT NULL,
    -- A proposed household has no id until it is applied; every other request names one.
    CONSTRAINT change_requests_household CHECK (
        (kind = 'new_household' AND (household_id IS NULL OR state = 'applied'))
        OR (kind <> 'new_household' AND household_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX change_requests_number_key ON change_requests (number);
-- The office's queue: open requests, oldest first.
CREATE INDEX change_requests_queue_idx ON change_requests (state, submitted_at);
-- A household's requests; also what the terminal asks on every purchase (is an open request
-- holding the household's cards: a household has few requests, all under one key).
CREATE INDEX change_requests_household_idx ON change_requests (household_id, created_at);
-- One open status request per household at a time.
CREATE UNIQUE INDEX change_requests_one_open_status ON change_requests (household_id)
    WHERE kind = 'status' AND state IN ('draft', 'submitted', 'returned');

-- The tamper-evident trail: every audit entry and every ledger transfer, in the order they were
-- sealed, each with the SHA-256 of its canonical encoding (an RFC 6962 leaf hash) and a chain
-- hash over the one before; each closed business date has a head signed with Ed25519 (the key
-- is outside the database) over the Merkle tree of the entries sealed since the previous head.
-- See `audit_trail` in the code. A link's hashes are 32 bytes; a head's are lowercase hex.
--
-- On PostgreSQL transactions commit out of order, so each row carries the id of the transaction
-- that wrote it, and the sealer reads only rows of transactions older than every one still
-- running (pg_snapshot_xmin): those can no longer change, and none will appear behind them.
-- Writers take no shared lock for this: the column is filled by its default.
ALTER TABLE audit_log ADD COLUMN chain_tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE transfers ADD COLUMN chain_tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_log_chain_idx ON audit_log (chain_tx, id);
CREATE INDEX transfers_chain_idx ON transfers (chain_tx, id);

CREATE TABLE audit_chain (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    source     text NOT NULL CHECK (source IN ('audit', 'transfer')),
    entry_id   uuid NOT NULL,
    entry_hash bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
    prev_hash  bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    chain_hash bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    UNIQUE (source, entry_id)
);

-- How far the sealer has read each source: the position (the writing transaction's id here)
-- and id of the last row sealed. Sealers lock these rows, so two never seal at once.
CREATE TABLE audit_chain_cursors (
    source   text PRIMARY KEY CHECK (source IN ('audit', 'transfer')),
    pos      bigint NOT NULL,
    entry_id uuid NOT NULL
);
INSERT INTO audit_chain_cursors (source, pos, entry_id)
VALUES ('audit', 0, '00000000-0000-0000-0000-000000000000'),
       ('transfer', 0, '00000000-0000-0000-0000-000000000000');

-- A closed date's signed head: the entries sealed after the previous head up to this date's
-- close (seq first_seq..=last_seq; none when last_seq < first_seq).
CREATE TABLE audit_heads (
    business_date text PRIMARY KEY CHECK (length(business_date) = 10),
    first_seq     bigint NOT NULL CHECK (first_seq >= 1),
    last_seq      bigint NOT NULL CHECK (last_seq >= first_seq - 1),
    root_hash     text NOT NULL CHECK (length(root_hash) = 64),
    chain_hash    text NOT NULL CHECK (length(chain_hash) = 64),
    signed_at     timestamptz NOT NULL,
    public_key    text NOT NULL CHECK (length(public_key) = 64),
    signature     text NOT NULL
);

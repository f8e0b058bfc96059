-- The tamper-evident trail: every audit entry and every ledger transfer, in the order they were
-- sealed, each with the SHA-256 of its canonical encoding (an RFC 6962 leaf hash) and a chain
-- hash over the one before; each closed business date has a head signed with Ed25519 (the key
-- is outside the database) over the Merkle tree of the entries sealed since the previous head.
-- See `audit_trail` in the code. A link's hashes are 32 bytes; a head's are lowercase hex.
--
-- On SQLite the sealer reads new rows by rowid: one writer commits them in rowid order, and
-- audit_log and transfers are never deleted from, so a rebuild of either table must keep rowids.
CREATE TABLE audit_chain (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
    source     TEXT NOT NULL CHECK (source IN ('audit', 'transfer')),
    entry_id   BLOB NOT NULL,
    entry_hash BLOB NOT NULL CHECK (length(entry_hash) = 32),
    prev_hash  BLOB NOT NULL CHECK (length(prev_hash) = 32),
    chain_hash BLOB NOT NULL CHECK (length(chain_hash) = 32),
    UNIQUE (source, entry_id)
) STRICT;

-- How far the sealer has read each source: the position (rowid here) and id of the last row
-- sealed.
CREATE TABLE audit_chain_cursors (
    source   TEXT PRIMARY KEY CHECK (source IN ('audit', 'transfer')),
    pos      INTEGER NOT NULL,
    entry_id BLOB NOT NULL
) STRICT;
INSERT INTO audit_chain_cursors (source, pos, entry_id)
VALUES ('audit', 0, zeroblob(16)), ('transfer', 0, zeroblob(16));

-- A closed date's signed head: the entries sealed after the previous head up to this date's
-- close (seq first_seq..=last_seq; none when last_seq < first_seq).
CREATE TABLE audit_heads (
    business_date TEXT PRIMARY KEY CHECK (length(business_date) = 10),
    first_seq     INTEGER NOT NULL CHECK (first_seq >= 1),
    last_seq      INTEGER NOT NULL CHECK (last_seq >= first_seq - 1),
    root_hash     TEXT NOT NULL CHECK (length(root_hash) = 64),
    chain_hash    TEXT NOT NULL CHECK (length(chain_hash) = 64),
    signed_at     TEXT NOT NULL,
    public_key    TEXT NOT NULL CHECK (length(public_key) = 64),
    signature     TEXT NOT NULL
) STRICT;

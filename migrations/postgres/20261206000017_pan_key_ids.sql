-- Each encrypted card number names the key it is sealed under, so the key can be rotated: 0 is
-- the key derived from the host's PIN key (every number sealed before rotation existed), N >= 1
-- the data directory's pan-key-N.key. A rotation re-encrypts rows in batches, key by key.
ALTER TABLE cards ADD COLUMN pan_key_id INTEGER NOT NULL DEFAULT 0 CHECK (pan_key_id >= 0);
CREATE INDEX cards_pan_key_id ON cards (pan_key_id);

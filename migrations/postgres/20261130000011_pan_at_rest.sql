-- Card numbers at rest: a keyed hash to find a card by, the number encrypted, and its last four
-- digits for display (src/auth/pan_vault.rs). The keys live outside the database, so existing
-- rows are converted by the service at start-up (`Store::protect_legacy_pans`), which empties
-- the old `pan` column; after that it stays NULL (kept only so old databases can be converted).
ALTER TABLE cards ALTER COLUMN pan DROP NOT NULL;
ALTER TABLE cards ADD COLUMN pan_hash bytea;
ALTER TABLE cards ADD COLUMN pan_encrypted bytea;
ALTER TABLE cards ADD COLUMN pan_last4 text CHECK (pan_last4 ~ '^[0-9]{4}$');
ALTER TABLE cards ADD CONSTRAINT cards_pan_hash_key UNIQUE (pan_hash);
-- Every card is either converted (hash, encrypted number, last four) or waiting to be.
ALTER TABLE cards ADD CONSTRAINT cards_pan_protected_check CHECK (
    (pan IS NULL AND pan_hash IS NOT NULL AND pan_encrypted IS NOT NULL AND pan_last4 IS NOT NULL)
    OR (pan IS NOT NULL AND pan_hash IS NULL));

-- Each terminal's PIN key (ISO 9564 format 4 PIN blocks), wrapped with AES-256-GCM under a key
-- derived from the host's PIN key; NULL until one is provisioned. Its check value is public.
ALTER TABLE terminals ADD COLUMN pin_key_wrapped bytea;
ALTER TABLE terminals ADD COLUMN pin_key_check_value text;

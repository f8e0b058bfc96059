-- Why a line of the bank's file could not be used, as a code and the values it quotes, so that
-- a page can say it in its reader's language (the English stays in `detail`).
ALTER TABLE recon_exceptions ADD COLUMN detail_code TEXT;
ALTER TABLE recon_exceptions ADD COLUMN detail_args TEXT;

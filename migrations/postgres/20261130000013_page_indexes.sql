-- What the web pages read by person and by place, newest first, without scanning every
-- redemption: a household's purchases, an E-Warung's recent requests and each terminal's last
-- message. Each costs one index entry per request; docs/benchmarks.md has the redeem figures.
CREATE INDEX redemptions_household_time_idx ON redemptions (household_id, created_at);
CREATE INDEX redemptions_ewarung_time_idx ON redemptions (ewarung_id, created_at);
CREATE INDEX redemptions_terminal_time_idx ON redemptions (terminal_id, created_at);

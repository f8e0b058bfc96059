-- What the web pages read by person and by terminal, newest first, without scanning every
-- redemption: a household's purchases, and each terminal's last message and latest requests (an
-- E-Warung's recent requests are its terminals' merged). Each index costs every redemption one
-- more entry; docs/benchmarks.md has the redeem figures with them.
CREATE INDEX redemptions_household_time_idx ON redemptions (household_id, created_at);
CREATE INDEX redemptions_terminal_time_idx ON redemptions (terminal_id, created_at);

-- API access tokens carry the generation of their user's credentials; disabling a user, a new
-- password and a new role move it on, and tokens of an older generation are refused from then
-- on (the servers learn of changes made elsewhere within seconds), not only when they expire.
ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;

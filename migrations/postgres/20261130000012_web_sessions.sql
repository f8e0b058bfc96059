-- The web application: each user's language, disabling a user, and browser sessions.
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'id' CHECK (locale IN ('id', 'en'));
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so that
-- a copy of this table signs nobody in. A session ends at its absolute expiry, after an idle
-- period (last_seen_at), at logout or when its user is disabled (revoked_at).
CREATE TABLE web_sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      uuid NOT NULL REFERENCES users (id),
    csrf_token   text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

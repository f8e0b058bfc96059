-- A refused form's errors and what was typed into it (never a password or a PIN), kept for the
-- one page view that follows the redirect (post/redirect/get): the refused form is then drawn at
-- its own address, so Back, reload and a second tab never resubmit it. One per session and page;
-- taken (deleted) when shown, and swept with the session or after the idle time.
CREATE TABLE web_flashes (
    token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),
    path       TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 2000),
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (token_hash, path)
);
CREATE INDEX web_flashes_created_idx ON web_flashes (created_at);

-- Kelurahan verifiers: a role bound to one or more kelurahan (as an operator is bound to an
-- E-Warung), and the field visits they record. A visit's photo of the house is a file in the
-- data directory's `photos/`, named by the visit; the row keeps its type, size and SHA-256.
--
-- The role's list is a CHECK on users.role, which SQLite cannot alter: users is rebuilt as
-- migration 18 rebuilt its tables (foreign keys deferred to the commit, rows copied aside and
-- put back under the same name, which every table referencing users adopts again).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE users_rows AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
    id               BLOB PRIMARY KEY,
    username         text NOT NULL,
    password_hash    text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'office', 'operator', 'bank', 'auditor',
                         'verifier')),
    ewarung_id       BLOB REFERENCES ewarungs (id),
    created_at       TEXT NOT NULL,
    locale           text NOT NULL DEFAULT 'id' CHECK (locale IN ('id', 'en')),
    disabled_at      TEXT,
    token_generation INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_operator_ewarung_check CHECK ((role = 'operator') = (ewarung_id IS NOT NULL))
);
INSERT INTO users (id, username, password_hash, role, ewarung_id, created_at, locale,
                   disabled_at, token_generation)
SELECT id, username, password_hash, role, ewarung_id, created_at, locale, disabled_at,
       token_generation
FROM temp.users_rows;
DROP TABLE temp.users_rows;

-- The kelurahan a verifier works in, spelled as households' addresses spell them.
CREATE TABLE user_kelurahan (
    user_id   BLOB NOT NULL REFERENCES users (id),
    kelurahan TEXT NOT NULL CHECK (length(kelurahan) BETWEEN 1 AND 100),
    PRIMARY KEY (user_id, kelurahan)
) STRICT;

CREATE TABLE household_visits (
    id              BLOB PRIMARY KEY,
    household_id    BLOB NOT NULL REFERENCES households (id),
    visited_on      TEXT NOT NULL CHECK (length(visited_on) = 10),
    outcome         TEXT NOT NULL CHECK (outcome IN ('confirmed', 'data_differs', 'moved_away',
                        'deceased_head', 'not_at_home')),
    note            TEXT NOT NULL,
    photo_type      TEXT CHECK (photo_type IS NULL OR photo_type IN ('image/jpeg', 'image/png')),
    photo_bytes     INTEGER CHECK (photo_bytes IS NULL OR photo_bytes > 0),
    photo_sha256    BLOB,
    recorded_by     BLOB NOT NULL REFERENCES users (id),
    recorded_at     TEXT NOT NULL,
    CONSTRAINT household_visits_photo CHECK ((photo_type IS NULL) = (photo_bytes IS NULL)
                                             AND (photo_type IS NULL) = (photo_sha256 IS NULL))
) STRICT;
-- A household's visits, latest first; and the latest visit per household (campaigns).
CREATE INDEX household_visits_household_idx ON household_visits (household_id, visited_on);

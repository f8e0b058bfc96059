-- Kelurahan verifiers: a role bound to one or more kelurahan (as an operator is bound to an
-- E-Warung), and the field visits they record. A visit's photo of the house is a file in the
-- data directory's `photos/`, named by the visit; the row keeps its type, size and SHA-256.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'office', 'operator', 'bank', 'auditor', 'verifier'));

-- The kelurahan a verifier works in, spelled as households' addresses spell them.
CREATE TABLE user_kelurahan (
    user_id   uuid NOT NULL REFERENCES users (id),
    kelurahan text NOT NULL CHECK (length(kelurahan) BETWEEN 1 AND 100),
    PRIMARY KEY (user_id, kelurahan)
);

CREATE TABLE household_visits (
    id              uuid PRIMARY KEY,
    household_id    uuid NOT NULL REFERENCES households (id),
    visited_on      text NOT NULL CHECK (length(visited_on) = 10),
    outcome         text NOT NULL CHECK (outcome IN ('confirmed', 'data_differs', 'moved_away',
                        'deceased_head', 'not_at_home')),
    note            text NOT NULL,
    photo_type      text CHECK (photo_type IN ('image/jpeg', 'image/png')),
    photo_bytes     bigint CHECK (photo_bytes > 0),
    photo_sha256    bytea,
    recorded_by     uuid NOT NULL REFERENCES users (id),
    recorded_at     timestamptz NOT NULL,
    CONSTRAINT household_visits_photo CHECK ((photo_type IS NULL) = (photo_bytes IS NULL)
                                             AND (photo_type IS NULL) = (photo_sha256 IS NULL))
);
-- A household's visits, latest first; and the latest visit per household (campaigns).
CREATE INDEX household_visits_household_idx ON household_visits (household_id, visited_on);

-- Household members as the family card (KK) lists them; the head is a member too (relation
-- 'head', kept equal to households.head_nik and head_name). One NIK in at most one household
-- that holds it: a household that exits releases its members' NIKs (released_at), and one that
-- comes back takes them again, or is refused if another household holds one meanwhile.
-- sex and birth_date are NULL only for heads registered before members existed, or registered
-- with a NIK whose digits 7-12 are not a date.
CREATE TABLE household_members (
    id           uuid PRIMARY KEY,
    household_id uuid NOT NULL REFERENCES households (id),
    nik          text NOT NULL CHECK (length(nik) = 16),
    name         text NOT NULL,
    relation     text NOT NULL CHECK (relation IN ('head', 'spouse', 'child', 'child_in_law',
                     'grandchild', 'parent', 'parent_in_law', 'other_relative', 'other')),
    sex          text CHECK (sex IN ('male', 'female')),
    birth_date   text CHECK (birth_date IS NULL OR length(birth_date) = 10),
    released_at  timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT household_members_nik_in_household UNIQUE (household_id, nik)
);
CREATE UNIQUE INDEX household_members_nik_held ON household_members (nik) WHERE released_at IS NULL;
CREATE UNIQUE INDEX household_members_one_head ON household_members (household_id) WHERE relation = 'head';
-- Finding the household that lists a person, exited ones included (the office's search).
CREATE INDEX household_members_nik_idx ON household_members (nik);

-- Every household's head becomes its first member. Two households holding one head NIK fail
-- this migration on the index above: resolve them (exit one) before upgrading.
INSERT INTO household_members (id, household_id, nik, name, relation, sex, birth_date,
                               released_at, created_at, updated_at)
SELECT gen_random_uuid(), id, head_nik, head_name, 'head', NULL, NULL,
       CASE WHEN status = 'exited' THEN updated_at END, created_at, updated_at
FROM households;

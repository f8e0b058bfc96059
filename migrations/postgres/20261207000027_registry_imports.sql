-- Importing the registry an office already has (a spreadsheet export, one row per member, the
-- KK number tying them): the file is read and staged a chunk at a time, checked as a whole, and
-- written only when a second office user approves it. A household whose lines are all good and
-- whose KK is not registered yet is created with its members; a registered KK is left as it is
-- (so importing the same file again changes nothing); a KK with any refused line is not imported.
CREATE TABLE registry_imports (
    id                  uuid PRIMARY KEY,
    status              TEXT NOT NULL CHECK (status IN ('validating', 'validated', 'approved')),
    source_name         TEXT NOT NULL,
    uploaded_by         uuid NOT NULL REFERENCES users (id),
    uploaded_at         timestamptz NOT NULL,
    approved_by         uuid REFERENCES users (id),
    approved_at         timestamptz,
    row_count           bigint NOT NULL DEFAULT 0,
    error_count         bigint NOT NULL DEFAULT 0,
    households_new      bigint NOT NULL DEFAULT 0,
    members_new         bigint NOT NULL DEFAULT 0,
    households_existing bigint NOT NULL DEFAULT 0,
    households_refused  bigint NOT NULL DEFAULT 0,
    -- Maker-checker in the schema too: the uploader never approves their own import.
    CONSTRAINT registry_imports_maker_checker CHECK (approved_by IS NULL OR approved_by <> uploaded_by)
);

-- The lines that passed the per-line checks, with the ids they will be written under (chosen at
-- upload so that approval is set-based on either engine). No foreign keys, one index: staging a
-- million lines costs little more than writing them.
CREATE TABLE registry_import_lines (
    import_id     uuid NOT NULL,
    line_no       bigint NOT NULL,
    kk_number     TEXT NOT NULL,
    household_id  uuid NOT NULL,
    member_id     uuid NOT NULL,
    nik           TEXT NOT NULL,
    name          TEXT NOT NULL,
    relation      TEXT NOT NULL,
    sex           TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    street        TEXT NOT NULL,
    rt            TEXT NOT NULL,
    rw            TEXT NOT NULL,
    kelurahan     TEXT NOT NULL,
    kecamatan     TEXT NOT NULL,
    PRIMARY KEY (import_id, line_no)
);

-- Every refused line with its number and reason; kk_number when the line named a readable one
-- (its household is then not imported).
CREATE TABLE registry_import_errors (
    import_id  uuid NOT NULL REFERENCES registry_imports (id),
    line_no    bigint NOT NULL,
    kk_number  TEXT,
    field      TEXT NOT NULL,
    code       TEXT NOT NULL,
    message    TEXT NOT NULL
);
CREATE INDEX registry_import_errors_idx ON registry_import_errors (import_id, line_no);
-- The whole-file checks (a NIK twice, a KK's head and address) and approval read the lines by
-- KK and by NIK, the earliest line first.
CREATE INDEX registry_import_lines_kk_idx ON registry_import_lines (import_id, kk_number, line_no);
CREATE INDEX registry_import_lines_nik_idx ON registry_import_lines (import_id, nik, line_no);

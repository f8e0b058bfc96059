-- Importing the registry an office already has (a spreadsheet export, one row per member, the
-- KK number tying them): the file is read and staged a chunk at a time, checked as a whole, and
-- written only when a second office user approves it. A household whose lines are all good and
-- whose KK is not registered yet is created with its members; a registered KK is left as it is
-- (so importing the same file again changes nothing); a KK with any refused line is not imported.
CREATE TABLE registry_imports (
    id                  BLOB PRIMARY KEY,
    status              TEXT NOT NULL CHECK (status IN ('validating', 'validated', 'approved')),
    source_name         TEXT NOT NULL,
    uploaded_by         BLOB NOT NULL REFERENCES users (id),
    uploaded_at         TEXT NOT NULL,
    approved_by         BLOB REFERENCES users (id),
    approved_at         TEXT,
    row_count           INTEGER NOT NULL DEFAULT 0,
    error_count         INTEGER NOT NULL DEFAULT 0,
    households_new      INTEGER NOT NULL DEFAULT 0,
    members_new         INTEGER NOT NULL DEFAULT 0,
    households_existing INTEGER NOT NULL DEFAULT 0,
    households_refused  INTEGER NOT NULL DEFAULT 0,
    -- Maker-checker in the schema too: the uploader never approves their own import.
    CONSTRAINT registry_imports_maker_checker CHECK (approved_by IS NULL OR approved_by <> uploaded_by)
) STRICT;

-- The lines that passed the per-line checks, with the ids they will be written under (chosen at
-- upload so that approval is set-based on either engine). No foreign keys, one index: staging a
-- million lines costs little more than writing them.
CREATE TABLE registry_import_lines (
    import_id     BLOB NOT NULL,
    line_no       INTEGER NOT NULL,
    kk_number     TEXT NOT NULL,
    household_id  BLOB NOT NULL,
    member_id     BLOB NOT NULL,
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
) STRICT;

-- Every refused line with its number and reason; kk_number when the line named a readable one
-- (its household is then not imported).
CREATE TABLE registry_import_errors (
    import_id  BLOB NOT NULL REFERENCES registry_imports (id),
    line_no    INTEGER NOT NULL,
    kk_number  TEXT,
    field      TEXT NOT NULL,
    code       TEXT NOT NULL,
    message    TEXT NOT NULL
) STRICT;
CREATE INDEX registry_import_errors_idx ON registry_import_errors (import_id, line_no);
-- The whole-file checks (a NIK twice, a KK's head and address) and approval read the lines by
-- KK and by NIK, the earliest line first.
CREATE INDEX registry_import_lines_kk_idx ON registry_import_lines (import_id, kk_number, line_no);
CREATE INDEX registry_import_lines_nik_idx ON registry_import_lines (import_id, nik, line_no);

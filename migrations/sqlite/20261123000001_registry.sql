-- SQLite edition. The registry: users, programs and their food catalog, households with revisions, cards,
-- E-Warungs and terminals, and an append-only audit log. Constraint names are stable: the HTTP
-- layer maps them to client errors (see src/store/error.rs).

CREATE TABLE ewarungs (
    id                  BLOB PRIMARY KEY,
    name                text NOT NULL,
    owner_name          text NOT NULL,
    street              text NOT NULL,
    rt                  text NOT NULL,
    rw                  text NOT NULL,
    kelurahan           text NOT NULL,
    kecamatan           text NOT NULL,
    bank_code           text NOT NULL,
    bank_account_number text NOT NULL,
    bank_account_holder text NOT NULL,
    status              text NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
    created_at          TEXT NOT NULL,
    CONSTRAINT ewarungs_bank_account_key UNIQUE (bank_code, bank_account_number)
);

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'office', 'operator', 'bank', 'auditor')),
    ewarung_id    BLOB REFERENCES ewarungs (id),
    created_at    TEXT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_operator_ewarung_check CHECK ((role = 'operator') = (ewarung_id IS NOT NULL))
);

CREATE TABLE terminals (
    terminal_id   text PRIMARY KEY CHECK (length(terminal_id) = 8),
    ewarung_id    BLOB NOT NULL REFERENCES ewarungs (id),
    serial_number text NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'suspended', 'retired')),
    created_at    TEXT NOT NULL,
    CONSTRAINT terminals_serial_number_key UNIQUE (serial_number)
);
CREATE INDEX terminals_ewarung_idx ON terminals (ewarung_id);

CREATE TABLE programs (
    id                           BLOB PRIMARY KEY,
    code                         text NOT NULL,
    name                         text NOT NULL,
    currency                     text NOT NULL CHECK (currency = 'IDR'),
    default_monthly_amount_minor INTEGER NOT NULL CHECK (default_monthly_amount_minor > 0),
    carry_over_months            integer NOT NULL CHECK (carry_over_months BETWEEN 0 AND 24),
    created_at                   TEXT NOT NULL,
    CONSTRAINT programs_code_key UNIQUE (code)
);

CREATE TABLE catalog_items (
    program_id           BLOB NOT NULL REFERENCES programs (id),
    sku                  text NOT NULL,
    name                 text NOT NULL,
    unit                 text NOT NULL,
    commodity_group      text NOT NULL CHECK (commodity_group IN
                             ('carbohydrate', 'animal_protein', 'plant_protein', 'vegetables_and_fruit')),
    max_unit_price_minor INTEGER NOT NULL CHECK (max_unit_price_minor > 0),
    created_at           TEXT NOT NULL,
    CONSTRAINT catalog_items_pkey PRIMARY KEY (program_id, sku)
);

CREATE TABLE households (
    id            BLOB PRIMARY KEY,
    kk_number     text NOT NULL CHECK (length(kk_number) = 16),
    head_nik      text NOT NULL CHECK (length(head_nik) = 16),
    head_name     text NOT NULL,
    street        text NOT NULL,
    rt            text NOT NULL,
    rw            text NOT NULL,
    kelurahan     text NOT NULL,
    kecamatan     text NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'suspended', 'exited')),
    status_reason text,
    revision      integer NOT NULL CHECK (revision >= 1),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT households_kk_number_key UNIQUE (kk_number)
);
CREATE INDEX households_head_nik_idx ON households (head_nik);

CREATE TABLE household_revisions (
    household_id BLOB NOT NULL REFERENCES households (id),
    revision     integer NOT NULL,
    changed_by   BLOB NOT NULL REFERENCES users (id),
    changed_at   TEXT NOT NULL,
    reason       text NOT NULL,
    changes      TEXT NOT NULL,
    CONSTRAINT household_revisions_pkey PRIMARY KEY (household_id, revision)
);

CREATE TABLE cards (
    id            BLOB PRIMARY KEY,
    household_id  BLOB NOT NULL REFERENCES households (id),
    pan           text NOT NULL CHECK (length(pan) = 16),
    status        text NOT NULL CHECK (status IN ('active', 'blocked', 'lost', 'replaced')),
    status_reason text,
    pin_hash      BLOB,
    pin_failures  integer NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
    locked_until  TEXT,
    replaces      BLOB REFERENCES cards (id),
    issued_by     BLOB NOT NULL REFERENCES users (id),
    issued_at     TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT cards_pan_key UNIQUE (pan)
);
CREATE INDEX cards_household_idx ON cards (household_id);
-- A household holds at most one usable card at a time: a new one only comes by replacement.
CREATE UNIQUE INDEX cards_one_live_card_per_household
    ON cards (household_id) WHERE status IN ('active', 'blocked');

CREATE TABLE audit_log (
    id           BLOB PRIMARY KEY,
    at           TEXT NOT NULL,
    actor_id     BLOB REFERENCES users (id),
    action       text NOT NULL,
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);

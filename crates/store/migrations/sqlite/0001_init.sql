-- sscard schema, SQLite flavour. Instants are TEXT in RFC 3339 UTC ("2026-11-21T23:58:51.123Z"),
-- dates TEXT "YYYY-MM-DD", months TEXT "YYYY-MM", money INTEGER fen, flags INTEGER 0/1.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Policy history: the row in force on a day is the latest effective_from <= that day.
CREATE TABLE region_policies (
    id INTEGER PRIMARY KEY,
    region_code TEXT NOT NULL REFERENCES regions(code),
    effective_from TEXT NOT NULL,
    policy_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (region_code, effective_from)
);

-- Working-day calendar: public holidays and the weekend days made working days (调休).
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

CREATE TABLE agencies (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    -- The agency's own division (a district or county of a pooling region).
    region_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('card_centre', 'service_centre', 'bureau', 'counter')),
    phone TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX agencies_region ON agencies(region_code);

CREATE TABLE banks (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    hotline TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    api_secret TEXT NOT NULL
);

CREATE TABLE institutions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hospital', 'pharmacy')),
    level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    region_code TEXT NOT NULL REFERENCES regions(code),
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    api_secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'phone_agent', 'admin', 'auditor')),
    agency_id INTEGER REFERENCES agencies(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    doc_type TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date TEXT NOT NULL,
    ethnicity TEXT NOT NULL DEFAULT '汉族',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    region_code TEXT NOT NULL REFERENCES regions(code),
    life_status TEXT NOT NULL DEFAULT 'normal'
        CHECK (life_status IN ('normal', 'deceased', 'missing', 'emigrated', 'imprisoned')),
    life_status_since TEXT,
    query_password_hash TEXT NOT NULL,
    query_password_changed INTEGER NOT NULL DEFAULT 0,
    query_failed INTEGER NOT NULL DEFAULT 0,
    query_locked_until TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (doc_type, doc_number)
);
CREATE INDEX persons_name ON persons(name);

CREATE TABLE employers (
    id INTEGER PRIMARY KEY,
    employer_no TEXT NOT NULL UNIQUE,
    credit_code TEXT NOT NULL UNIQUE,
    credit_code_override_by TEXT,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    address TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE employment (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    employer_id INTEGER NOT NULL REFERENCES employers(id),
    start_date TEXT NOT NULL,
    end_date TEXT,
    position TEXT NOT NULL DEFAULT ''
);
CREATE INDEX employment_person ON employment(person_id);
CREATE INDEX employment_employer ON employment(employer_id);

-- Enrolment per insurance type; scheme: employee (职工), resident (城乡居民), flexible (灵活就业).
CREATE TABLE enrolments (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    insurance TEXT NOT NULL
        CHECK (insurance IN ('pension', 'medical', 'unemployment', 'work_injury', 'maternity')),
    scheme TEXT NOT NULL CHECK (scheme IN ('employee', 'resident', 'flexible')),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'terminated', 'retired')),
    region_code TEXT NOT NULL REFERENCES regions(code),
    start_date TEXT NOT NULL,
    end_date TEXT
);
CREATE INDEX enrolments_person ON enrolments(person_id);

-- One row per person and month: the five insurances' employer and personal parts.
CREATE TABLE contributions (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    month TEXT NOT NULL,
    employer_id INTEGER REFERENCES employers(id),
    base_fen INTEGER NOT NULL CHECK (base_fen >= 0),
    pension_employer_fen INTEGER NOT NULL,
    pension_personal_fen INTEGER NOT NULL,
    medical_employer_fen INTEGER NOT NULL,
    medical_personal_fen INTEGER NOT NULL,
    unemployment_employer_fen INTEGER NOT NULL,
    unemployment_personal_fen INTEGER NOT NULL,
    injury_employer_fen INTEGER NOT NULL,
    maternity_employer_fen INTEGER NOT NULL,
    paid INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (person_id, month)
) WITHOUT ROWID;
CREATE INDEX contributions_employer ON contributions(employer_id, month);

-- Ledger accounts. Personal accounts have person_id; fund accounts have a region.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('medical_personal', 'pension_personal', 'pooling_fund',
        'institution_clearing', 'contribution_income', 'cash_payout')),
    person_id INTEGER REFERENCES persons(id),
    institution_id INTEGER REFERENCES institutions(id),
    region_code TEXT NOT NULL REFERENCES regions(code),
    balance_fen INTEGER NOT NULL DEFAULT 0,
    reserved_fen INTEGER NOT NULL DEFAULT 0,
    may_go_negative INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    CHECK (may_go_negative = 1 OR balance_fen - reserved_fen >= 0)
);
CREATE UNIQUE INDEX accounts_person ON accounts(person_id, kind) WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_fund ON accounts(region_code, kind)
    WHERE person_id IS NULL AND institution_id IS NULL;
CREATE UNIQUE INDEX accounts_institution ON accounts(institution_id, kind)
    WHERE institution_id IS NOT NULL;

-- Double entry: every transfer debits one account and credits another by a positive amount.
-- Immutable once posted; a correction is a new transfer with a reason code.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    debit_account INTEGER NOT NULL REFERENCES accounts(id),
    credit_account INTEGER NOT NULL REFERENCES accounts(id),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    kind TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'posted' CHECK (status IN ('pending', 'posted', 'voided')),
    memo TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    CHECK (debit_account <> credit_account)
);
CREATE INDEX transfers_debit ON transfers(debit_account);
CREATE INDEX transfers_credit ON transfers(credit_account);

CREATE TABLE benefits (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    kind TEXT NOT NULL CHECK (kind IN ('pension', 'unemployment', 'work_injury', 'work_death',
        'maternity', 'minimum_living', 'special_care')),
    status TEXT NOT NULL CHECK (status IN ('active', 'ended', 'suspended', 'unclaimed')),
    start_month TEXT NOT NULL,
    end_month TEXT,
    monthly_fen INTEGER NOT NULL DEFAULT 0,
    lump_sum_fen INTEGER NOT NULL DEFAULT 0,
    detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX benefits_person ON benefits(person_id);

CREATE TABLE injury_cases (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    employer_id INTEGER REFERENCES employers(id),
    kind TEXT NOT NULL CHECK (kind IN ('injury', 'death')),
    occurred_on TEXT NOT NULL,
    recognised_on TEXT,
    disability_grade INTEGER CHECK (disability_grade BETWEEN 1 AND 10),
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX injury_cases_person ON injury_cases(person_id);

CREATE TABLE production_batches (
    id INTEGER PRIMARY KEY,
    batch_no TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL REFERENCES regions(code),
    bank_id INTEGER REFERENCES banks(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'sent_to_bank', 'returned', 'produced')),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE cards (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    kind TEXT NOT NULL CHECK (kind IN ('regular', 'temporary')),
    status TEXT NOT NULL CHECK (status IN ('applied', 'in_production', 'awaiting_collection',
        'collected', 'active', 'temporary_loss', 'written_loss', 'reissuing', 'replacing',
        'cancelled', 'expired')),
    card_no TEXT UNIQUE,
    card_id TEXT UNIQUE,
    region_code TEXT NOT NULL REFERENCES regions(code),
    agency_id INTEGER REFERENCES agencies(id),
    batch_id INTEGER REFERENCES production_batches(id),
    bank_id INTEGER REFERENCES banks(id),
    bank_account TEXT,
    bank_status TEXT NOT NULL DEFAULT 'none'
        CHECK (bank_status IN ('none', 'opened', 'active', 'lost', 'cancelled')),
    previous_card_id INTEGER REFERENCES cards(id),
    applied_at TEXT NOT NULL,
    notice_date TEXT,
    at_card_centre INTEGER NOT NULL DEFAULT 0,
    collected_at TEXT,
    activated_at TEXT,
    expires_on TEXT,
    status_changed_at TEXT NOT NULL,
    pin_mac TEXT NOT NULL,
    pin_changed INTEGER NOT NULL DEFAULT 0,
    pin_failed INTEGER NOT NULL DEFAULT 0,
    pin_locked INTEGER NOT NULL DEFAULT 0
);
-- At most one live card per person, enforced by the database itself. An emergency temporary
-- card may exist beside the regular card being made (at most one of those too).
CREATE UNIQUE INDEX cards_one_live ON cards(person_id)
    WHERE kind = 'regular' AND status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired');
CREATE UNIQUE INDEX cards_one_live_temporary ON cards(person_id)
    WHERE kind = 'temporary' AND status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired');
CREATE INDEX cards_person ON cards(person_id);
CREATE INDEX cards_status ON cards(status);

CREATE TABLE card_events (
    id INTEGER PRIMARY KEY,
    card_id INTEGER NOT NULL REFERENCES cards(id),
    event TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    channel TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}',
    at TEXT NOT NULL
);
CREATE INDEX card_events_card ON card_events(card_id);

-- Loss reports; the social-security side and the bank side are tracked separately.
CREATE TABLE loss_reports (
    id INTEGER PRIMARY KEY,
    card_id INTEGER NOT NULL REFERENCES cards(id),
    side TEXT NOT NULL CHECK (side IN ('social', 'bank')),
    kind TEXT NOT NULL CHECK (kind IN ('temporary', 'written')),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'lifted', 'lapsed', 'converted')),
    reported_at TEXT NOT NULL,
    expires_at TEXT,
    closed_at TEXT
);
CREATE INDEX loss_reports_card ON loss_reports(card_id);

CREATE TABLE fees (
    id INTEGER PRIMARY KEY,
    receipt_no TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    card_id INTEGER REFERENCES cards(id),
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    at TEXT NOT NULL,
    staff TEXT NOT NULL
);

-- Append-only, hash-chained audit log. audit_head holds the chain's tip so concurrent writers
-- serialise on one row.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT NOT NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

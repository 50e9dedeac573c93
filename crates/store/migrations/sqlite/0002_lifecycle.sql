-- Card lifecycle: notices outbox, staff sessions, pickup certificates, heirs' claims,
-- photos, API nonces.

-- Notices to cardholders (SMS): an outbox, so a failing gateway never blocks an operation.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    card_id INTEGER REFERENCES cards(id),
    kind TEXT NOT NULL,
    phone TEXT NOT NULL,
    text_zh TEXT NOT NULL,
    text_en TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX notices_due ON notices(status, next_attempt_at);

-- Console sessions: only a hash of the cookie's token is stored.
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

-- 领卡凭证: issued with a reissue; hospitals accept its number as a temporary medical voucher
-- until the new card is collected.
CREATE TABLE pickup_certificates (
    id INTEGER PRIMARY KEY,
    cert_no TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    old_card_id INTEGER NOT NULL REFERENCES cards(id),
    new_card_id INTEGER NOT NULL REFERENCES cards(id),
    ready_date TEXT NOT NULL,
    fee_receipt_no TEXT,
    issued_at TEXT NOT NULL,
    collected_at TEXT
);

-- Heirs of a deceased cardholder claiming the medical personal account balance.
CREATE TABLE heir_claims (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    heir_name TEXT NOT NULL,
    heir_doc_type TEXT NOT NULL,
    heir_doc_number TEXT NOT NULL,
    relationship TEXT NOT NULL,
    death_certificate_no TEXT NOT NULL,
    amount_fen INTEGER NOT NULL DEFAULT 0,
    transfer_id INTEGER REFERENCES transfers(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'rejected')),
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX heir_claims_person ON heir_claims(person_id);

-- Application photos (JPEG/PNG, 358x441).
CREATE TABLE person_photos (
    person_id INTEGER PRIMARY KEY REFERENCES persons(id),
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    uploaded_at TEXT NOT NULL
);

-- Nonces of signed API requests (banks, institutions), refused when reused.
CREATE TABLE api_nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);

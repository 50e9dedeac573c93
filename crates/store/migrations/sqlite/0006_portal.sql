-- Self-service (web portal, shared with the kiosk): life and health data, cardholder
-- sessions, certificates of insurance (参保证明).

-- 生命与健康数据: a small record set per person (blood type, allergies, organ donation wish,
-- vaccinations, health check-ups).
CREATE TABLE life_health_records (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    category TEXT NOT NULL
        CHECK (category IN ('blood_type', 'allergy', 'organ_donation', 'vaccination', 'checkup')),
    item TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    recorded_on TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX life_health_person ON life_health_records(person_id);

-- Cardholder sessions (web portal; the kiosk may use them too): only a hash of the token.
CREATE TABLE cardholder_sessions (
    token_hash TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    channel TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX cardholder_sessions_person ON cardholder_sessions(person_id);

-- 参保证明 issued to a cardholder; anyone can check a code on the public verify page.
CREATE TABLE insurance_certificates (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    region_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE INDEX insurance_certificates_person ON insurance_certificates(person_id);

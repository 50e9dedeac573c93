-- Self-service kiosk (自助终端): sessions bound to a card and a terminal, and the
-- flexible-employment contribution level a contributor chose for the next year.

-- One session per terminal at a time (a terminal has one card reader). Only a hash of the
-- cookie's token is stored. state: 'pin' (card read, PIN not yet verified) or 'ready'.
-- expires_at is the idle deadline, moved on at every request; hard_expires_at ends the
-- session whatever happens.
CREATE TABLE kiosk_sessions (
    token_hash TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    card_id INTEGER NOT NULL REFERENCES cards(id),
    person_id INTEGER NOT NULL REFERENCES persons(id),
    via TEXT NOT NULL CHECK (via IN ('card', 'id_card')),
    state TEXT NOT NULL CHECK (state IN ('pin', 'ready')),
    csrf_token TEXT NOT NULL,
    idle_timeout_secs INTEGER NOT NULL CHECK (idle_timeout_secs > 0),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    hard_expires_at TEXT NOT NULL
);
CREATE INDEX kiosk_sessions_terminal ON kiosk_sessions(terminal_id);
CREATE INDEX kiosk_sessions_expires ON kiosk_sessions(expires_at);

-- 灵活就业人员缴费档次: the monthly contribution base chosen for a year (one row per person
-- and year; choosing again before the year starts replaces the choice).
CREATE TABLE flexible_level_choices (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    year INTEGER NOT NULL,
    level_fen INTEGER NOT NULL CHECK (level_fen > 0),
    region_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    chosen_at TEXT NOT NULL,
    PRIMARY KEY (person_id, year)
);

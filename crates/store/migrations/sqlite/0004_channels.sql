-- Shared by the channels and the admin console.

-- One row per phone call on the 12333 line: the deepest menu the caller reached (e.g. '3-1-1')
-- and how the call ended. Callers are kept only as a salted hash of their number.
CREATE TABLE ivr_calls (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    caller_hash TEXT NOT NULL DEFAULT '',
    menu TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ivr_calls_started ON ivr_calls(started_at);

-- API key rotation: the previous secret stays valid until prev_valid_until (a grace period).
ALTER TABLE institutions ADD COLUMN prev_api_secret TEXT;
ALTER TABLE institutions ADD COLUMN prev_valid_until TEXT;
ALTER TABLE banks ADD COLUMN prev_api_secret TEXT;
ALTER TABLE banks ADD COLUMN prev_valid_until TEXT;

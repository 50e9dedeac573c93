-- The 12333 phone channel: IVR platforms allowed to drive calls through the HTTP session API
-- (/api/v1/ivr/). They sign every request like the banks do (HMAC-SHA256 with their secret).
CREATE TABLE ivr_platforms (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    api_secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

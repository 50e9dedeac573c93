-- The settlement path (issue #6). A settlement reads its holder's year-to-date deductible and
-- pooling-fund figures from their settlements this year; with those columns in the index the
-- sum is read from the index alone instead of one table lookup per earlier settlement.
DROP INDEX med_settlements_person;
CREATE INDEX med_settlements_person
    ON med_settlements(person_id, settle_day, status, deductible_fen, pooling_fen);

-- Nonces of signed requests: one B-tree keyed by (key, nonce) (no separate rowid table), and
-- the expiry index on the time alone, so that every request appends to the same few pages of
-- it (keyed by institution first, each institution had its own insertion point: one more page
-- written per request). Nonces expire by time, whichever key used them.
CREATE TABLE api_nonces_new (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
INSERT INTO api_nonces_new (key_id, nonce, seen_at) SELECT key_id, nonce, seen_at FROM api_nonces;
DROP TABLE api_nonces;
ALTER TABLE api_nonces_new RENAME TO api_nonces;
CREATE INDEX api_nonces_seen ON api_nonces(seen_at);

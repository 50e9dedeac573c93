-- Nonces of signed requests, append-only (issue #6). Keyed by (key, nonce), every insert went
-- to a random leaf of a large B-tree (and, when nonces expired, every delete too): 1.5 of the
-- 8.8 pages a settlement wrote. Now rows are appended in the order they are seen, so the
-- nonces of a group commit share a page or two, and expiry deletes from the front. Whether a
-- key used a nonce before is answered by the server from memory, read from this table when it
-- first needs it (crates/store/src/sqlite_nonces.rs); every nonce is written through
-- `Tx::claim_nonce`, never by a statement of its own.
CREATE TABLE api_nonces_log (
    seq INTEGER PRIMARY KEY,
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
INSERT INTO api_nonces_log (key_id, nonce, seen_at)
    SELECT key_id, nonce, seen_at FROM api_nonces ORDER BY seen_at;
DROP TABLE api_nonces;
ALTER TABLE api_nonces_log RENAME TO api_nonces;
CREATE INDEX api_nonces_seen ON api_nonces(seen_at);

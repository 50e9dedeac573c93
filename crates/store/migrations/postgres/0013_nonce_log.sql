-- SQLite's migration 13 makes its nonce table append-only and answers "used before?" from
-- memory (a random B-tree insert per request was a page written per settlement there).
-- PostgreSQL keeps its table with the unique key on (key_id, nonce): nothing changes here.
SELECT 1;

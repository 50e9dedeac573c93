-- PostgreSQL's migration 11 adds the one-statement settlement function (a round trip is what a
-- settlement costs there). SQLite runs in the process: `repo::medical::commit_settlement` runs
-- the same checks and writes as ordinary statements, and nothing changes in the schema.
SELECT 1;

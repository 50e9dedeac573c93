-- The settlement path (issue #6). A settlement reads its holder's year-to-date deductible and
-- pooling-fund figures from their settlements this year; with those columns in the index the
-- sum is read from the index alone (an index-only scan) instead of one heap fetch per earlier
-- settlement.
DROP INDEX med_settlements_person;
CREATE INDEX med_settlements_person
    ON med_settlements(person_id, settle_day) INCLUDE (status, deductible_fen, pooling_fen);

-- Nonces expire by time, whichever key used them: index the time alone, so that every request
-- appends to the same few pages of the index instead of one insertion point per institution.
DROP INDEX api_nonces_seen;
CREATE INDEX api_nonces_seen ON api_nonces(seen_at);

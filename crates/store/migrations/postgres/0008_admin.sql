-- Admin console and statistics dashboard.

-- The dashboard counts card events by day and region over the last months, and settlements by
-- day: both scan by time, not by card or institution.
CREATE INDEX card_events_at ON card_events(at);
CREATE INDEX med_settlements_settle_day ON med_settlements(settle_day);
-- Agencies can be closed by the administrator (kept for history: cards and staff refer to them).
ALTER TABLE agencies ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

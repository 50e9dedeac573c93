-- Ledger: two-phase transfers (pending → posted/voided, with an expiry) and posting runs.
ALTER TABLE transfers ADD COLUMN pending_id BIGINT REFERENCES transfers(id);
ALTER TABLE transfers ADD COLUMN expires_at TEXT;
ALTER TABLE transfers ADD COLUMN run_id TEXT;
-- The month a periodic credit is for: one contribution credit per account and month.
ALTER TABLE transfers ADD COLUMN period TEXT;
CREATE UNIQUE INDEX transfers_period ON transfers(credit_account, kind, period) WHERE period IS NOT NULL;
CREATE INDEX transfers_run ON transfers(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX transfers_pending ON transfers(status, expires_at) WHERE status = 'pending';

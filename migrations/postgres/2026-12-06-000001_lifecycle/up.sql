-- Lifecycle enforcement (scheduled jobs): the 30-day deletion duty's reminders and overdue state,
-- the purge of per-organization usage detail, one-year inactivity, reactivation requests,
-- retirement, and a record of every job run.

-- duty_stage: 0 open, 1 reminded 7 days before the deadline, 2 reminded 1 day before,
-- 3 overdue (developer and admins told). Each step is a guarded update in the transaction that
-- queues its emails, so a job run twice (or in two processes) does each step once.
ALTER TABLE authorizations ADD COLUMN duty_stage INTEGER NOT NULL DEFAULT 0 CHECK (duty_stage BETWEEN 0 AND 3);
ALTER TABLE authorizations ADD COLUMN deletion_overdue_at TIMESTAMP;
-- Who recorded the deletion: 'developer' (attestation) or 'admin' (a ConCat admin's resolution).
ALTER TABLE authorizations ADD COLUMN deletion_confirmed_via TEXT;
-- When the per-organization usage detail of this authorization was folded into totals.
ALTER TABLE authorizations ADD COLUMN usage_purged_at TIMESTAMP;
CREATE INDEX authorizations_duties ON authorizations(status, deletion_confirmed_at, deletion_due_at);
CREATE INDEX authorizations_usage_purge ON authorizations(status, usage_purged_at, revoked_at);
UPDATE authorizations SET deletion_confirmed_via = 'developer' WHERE deletion_confirmed_at IS NOT NULL;

-- activity_at starts the inactivity clock: approval, the last successful API request, or
-- reactivation. inactivity_stage: 0 none, 1 warned 30 days before, 2 warned 7 days before.
ALTER TABLE integrations ADD COLUMN activity_at TIMESTAMP;
UPDATE integrations SET activity_at = COALESCE(last_used_at, created_at);
ALTER TABLE integrations ALTER COLUMN activity_at SET NOT NULL;
ALTER TABLE integrations ADD COLUMN inactivity_stage INTEGER NOT NULL DEFAULT 0 CHECK (inactivity_stage BETWEEN 0 AND 2);
ALTER TABLE integrations ADD COLUMN inactivity_exempt BOOLEAN NOT NULL DEFAULT FALSE;
-- When the last inactivity warning went out: revocation needs the 7-day warning 7 days before,
-- so an integration is never revoked without notice (after this migration, an exemption's end,
-- or a scheduler outage, the warnings come first).
ALTER TABLE integrations ADD COLUMN inactivity_warned_at TIMESTAMP;
ALTER TABLE integrations ADD COLUMN deactivated_at TIMESTAMP;
ALTER TABLE integrations ADD COLUMN retired_at TIMESTAMP;
ALTER TABLE integrations ADD COLUMN retired_by_user_id TEXT; -- a user id (no FOREIGN KEY: SQLite cannot drop such a column on the way down)
-- The inactivity scan reads only due rows: status = 'active', not exempt, activity_at <= cutoff.
CREATE INDEX integrations_inactivity ON integrations(status, inactivity_exempt, activity_at);

-- A developer's request to reactivate an integration revoked for inactivity; ConCat admins decide.
CREATE TABLE reactivation_requests (
    id TEXT PRIMARY KEY NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations(id),
    requested_by_user_id TEXT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by_user_id TEXT REFERENCES users(id),
    decision_note TEXT
);
CREATE INDEX reactivation_requests_queue ON reactivation_requests(status, created_at);
CREATE UNIQUE INDEX reactivation_requests_one_pending ON reactivation_requests(integration_id) WHERE status = 'pending';

-- One row per job per run (dry runs leave none): what it did, how long it took.
CREATE TABLE job_runs (
    id TEXT PRIMARY KEY NOT NULL,
    job TEXT NOT NULL,
    -- 'scheduler' (serve) or 'command' (concat-portal jobs run)
    trigger TEXT NOT NULL,
    -- The time the job ran as (the clock, or --as-of).
    as_of TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL,
    -- 'ok', 'failed', or 'skipped' (another process held the job's lock)
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'skipped')),
    -- JSON object: what the job did, e.g. {"reminders": 2, "overdue": 1}
    counts TEXT NOT NULL,
    error TEXT,
    finished_at TIMESTAMP NOT NULL
);
CREATE INDEX job_runs_job ON job_runs(job, finished_at);

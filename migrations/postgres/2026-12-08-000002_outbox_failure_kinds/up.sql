-- What the last failed delivery was (unreachable, deferred, permanent, error), and how many
-- failures counted toward PORTAL_OUTBOX_MAX_ATTEMPTS: an unreachable server and 4xx replies
-- do not; `attempts` keeps counting every try.
ALTER TABLE outbox ADD COLUMN failure_kind TEXT;
ALTER TABLE outbox ADD COLUMN counted_failures INTEGER NOT NULL DEFAULT 0;

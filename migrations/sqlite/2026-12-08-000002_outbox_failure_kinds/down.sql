ALTER TABLE outbox DROP COLUMN counted_failures;
ALTER TABLE outbox DROP COLUMN failure_kind;

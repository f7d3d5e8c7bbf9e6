-- Keyset pagination of the audit log reads (occurred_at, id) in order, with or without an action.
DROP INDEX audit_log_time;
CREATE INDEX audit_log_time ON audit_log(occurred_at, id);
DROP INDEX audit_log_action;
CREATE INDEX audit_log_action ON audit_log(action, occurred_at, id);

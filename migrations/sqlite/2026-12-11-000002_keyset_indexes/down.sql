DROP INDEX audit_log_action;
CREATE INDEX audit_log_action ON audit_log(action, occurred_at);
DROP INDEX audit_log_time;
CREATE INDEX audit_log_time ON audit_log(occurred_at);

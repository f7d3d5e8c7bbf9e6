-- A ConCat admin can suspend a developer account: its integrations' API requests are refused
-- (403) and no secret can be created or rolled until it is reinstated. The latest suspension's
-- time and reason are kept here; the history is in the audit log.
ALTER TABLE developer_accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE developer_accounts ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE developer_accounts ADD COLUMN suspension_reason TEXT;

ALTER TABLE developer_accounts DROP COLUMN suspension_reason;
ALTER TABLE developer_accounts DROP COLUMN suspended_at;
ALTER TABLE developer_accounts DROP COLUMN status;

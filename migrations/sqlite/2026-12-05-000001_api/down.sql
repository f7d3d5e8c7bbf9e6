DROP TABLE api_usage;
ALTER TABLE developer_accounts DROP COLUMN api_rate_limit;

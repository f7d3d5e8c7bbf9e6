ALTER TABLE api_usage DROP COLUMN query_key_requests;

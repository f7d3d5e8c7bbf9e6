INSERT INTO api_usage (day, api_id, organization_id, event_id, endpoint, status, requests, query_key_requests)
SELECT day, api_id, '', '', endpoint, status, requests, query_key_requests FROM api_unverified_usage WHERE true
ON CONFLICT (day, api_id, organization_id, event_id, endpoint, status) DO UPDATE
SET requests = api_usage.requests + excluded.requests,
    query_key_requests = api_usage.query_key_requests + excluded.query_key_requests;
DROP TABLE api_unverified_usage;

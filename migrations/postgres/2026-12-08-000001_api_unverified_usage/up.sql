-- Refused API requests that named an API ID without its secret: unverified attempts, kept apart
-- from the integration's own figures (api_usage), since anyone can name any API ID.
CREATE TABLE api_unverified_usage (
    day TEXT NOT NULL,
    api_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    requests BIGINT NOT NULL,
    query_key_requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, api_id, endpoint, status)
);
CREATE INDEX api_unverified_usage_day ON api_unverified_usage(day);
-- Until now a failed authentication (401) was counted under the API ID it named: move those.
INSERT INTO api_unverified_usage (day, api_id, endpoint, status, requests, query_key_requests)
SELECT day, api_id, endpoint, status, SUM(requests), SUM(query_key_requests)
FROM api_usage WHERE status = 401 AND api_id <> ''
GROUP BY day, api_id, endpoint, status;
DELETE FROM api_usage WHERE status = 401 AND api_id <> '';

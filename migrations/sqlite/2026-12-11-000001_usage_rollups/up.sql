-- Daily rollups of API usage, maintained by the usage flush with the raw counters, so pages read
-- rows per integration and day rather than the raw detail (per event × endpoint × status).
-- Classes: requests counts all; 2xx = requests - 3xx - 4xx - 5xx.
CREATE TABLE api_usage_daily (
    api_id TEXT NOT NULL,
    day TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    requests_3xx BIGINT NOT NULL DEFAULT 0,
    requests_4xx BIGINT NOT NULL DEFAULT 0,
    requests_5xx BIGINT NOT NULL DEFAULT 0,
    failed_auth BIGINT NOT NULL DEFAULT 0,
    query_key_requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (api_id, day, organization_id)
);
CREATE INDEX api_usage_daily_day ON api_usage_daily(day);

-- Every integration's requests together, per day (the admin overview's totals and chart).
CREATE TABLE api_usage_days (
    day TEXT PRIMARY KEY NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    failed_auth BIGINT NOT NULL DEFAULT 0
);

-- Per integration, the sum of api_usage_daily over the days from_day..through_day of
-- api_usage_window (one row): refreshed by the usage-retention job once a day, added to by the
-- flush for days within it; the admin overview adds today's rows.
CREATE TABLE api_usage_totals (
    api_id TEXT PRIMARY KEY NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    failed_auth BIGINT NOT NULL DEFAULT 0,
    query_key_requests BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE api_usage_window (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    from_day TEXT NOT NULL,
    through_day TEXT NOT NULL
);

INSERT INTO api_usage_daily (api_id, day, organization_id, requests, requests_3xx, requests_4xx,
                             requests_5xx, failed_auth, query_key_requests)
SELECT api_id, day, organization_id, SUM(requests),
       SUM(CASE WHEN status >= 300 AND status < 400 THEN requests ELSE 0 END),
       SUM(CASE WHEN status >= 400 AND status < 500 THEN requests ELSE 0 END),
       SUM(CASE WHEN status >= 500 THEN requests ELSE 0 END),
       SUM(CASE WHEN status = 401 THEN requests ELSE 0 END),
       SUM(query_key_requests)
FROM api_usage GROUP BY api_id, day, organization_id;

INSERT INTO api_usage_days (day, requests, failed_auth)
SELECT day, SUM(requests), SUM(CASE WHEN status = 401 THEN requests ELSE 0 END)
FROM api_usage GROUP BY day;

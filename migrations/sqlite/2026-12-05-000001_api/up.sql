-- The JSON API: a per-account rate limit set by ConCat admins (NULL: the global default), and
-- usage counters aggregated in memory and flushed in batches. A counter row is one day × API ID
-- × organization × event × endpoint × status; '' stands for "none" (unauthenticated, or not
-- organization/event scoped), so the key has no NULLs and upserts work on both backends.
ALTER TABLE developer_accounts ADD COLUMN api_rate_limit INTEGER CHECK (api_rate_limit IS NULL OR api_rate_limit > 0);

CREATE TABLE api_usage (
    day TEXT NOT NULL,
    api_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (day, api_id, organization_id, event_id, endpoint, status)
);
CREATE INDEX api_usage_api_id ON api_usage(api_id, day);
CREATE INDEX api_usage_day ON api_usage(day);

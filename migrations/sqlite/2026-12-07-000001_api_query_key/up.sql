-- Of a counter's requests, how many authenticated with the _apikey query parameter (or sent it
-- while it is turned off), so operators see who relies on it.
ALTER TABLE api_usage ADD COLUMN query_key_requests BIGINT NOT NULL DEFAULT 0;

DROP TABLE api_usage_window;
DROP TABLE api_usage_totals;
DROP TABLE api_usage_days;
DROP TABLE api_usage_daily;

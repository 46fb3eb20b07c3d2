-- 012_request_limits: how many requests an app may have in flight at once and
-- start per minute (PUT /v1/{app_id}/ai/config, aigw-admin app limits), and how
-- many a key may start per minute (aigw-admin key create --rpm, key limit).
-- NULL is unlimited. Requests over a limit are answered 429 with Retry-After.
-- Safe to rerun (ADD COLUMN IF NOT EXISTS, ADD CONSTRAINT IF NOT EXISTS).

ALTER TABLE ai_config
  ADD COLUMN IF NOT EXISTS max_concurrent_requests INT NULL
    COMMENT 'Requests of the app in flight at once on one host, 1..100000; NULL: unlimited'
    AFTER allowed_models,
  ADD COLUMN IF NOT EXISTS requests_per_minute INT NULL
    COMMENT 'Requests the app may start in any 60 s on one host, 1..10000000; NULL: unlimited'
    AFTER max_concurrent_requests,
  ADD CONSTRAINT IF NOT EXISTS ai_config_max_concurrent_range
    CHECK (max_concurrent_requests BETWEEN 1 AND 100000),
  ADD CONSTRAINT IF NOT EXISTS ai_config_requests_per_minute_range
    CHECK (requests_per_minute BETWEEN 1 AND 10000000);

ALTER TABLE api_keys
  ADD COLUMN IF NOT EXISTS requests_per_minute INT NULL
    COMMENT 'Requests the key may start in any 60 s on one host, 1..10000000; NULL: unlimited (the app''s limits still apply)'
    AFTER hash_key_id,
  ADD CONSTRAINT IF NOT EXISTS api_keys_requests_per_minute_range
    CHECK (requests_per_minute BETWEEN 1 AND 10000000);

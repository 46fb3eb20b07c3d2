-- 009_usage_monthly: usage per app, UTC month, model and BYOK flag, kept in step
-- with usage_daily in the same transaction. The usage endpoint reads whole months
-- from here and only the days at the edges of a range from usage_daily, so a
-- year's range is a few hundred rows whatever the traffic.
-- Safe to rerun: the table is filled (again) from usage_daily with REPLACE.

CREATE TABLE IF NOT EXISTS usage_monthly (
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  month DATE NOT NULL
    COMMENT 'First UTC day of the month',
  model VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'As usage_daily.model',
  is_byok BOOL NOT NULL
    COMMENT '1: requests made with the app''s own upstream key (not counted against credits)',
  requests BIGINT NOT NULL DEFAULT 0
    COMMENT 'Number of requests recorded',
  prompt_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Sum of usage_requests.prompt_tokens',
  completion_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Sum of usage_requests.completion_tokens',
  cached_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Sum of usage_requests.cached_tokens',
  reasoning_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Sum of usage_requests.reasoning_tokens',
  cost DECIMAL(20,10) NOT NULL DEFAULT 0
    COMMENT 'Sum of usage_requests.cost, USD (exact)',
  updated_at DATETIME(6) NOT NULL
    COMMENT 'UTC time a request was last added',
  PRIMARY KEY (app_id, month, model, is_byok),
  CONSTRAINT usage_monthly_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Usage per app, UTC month, model and BYOK flag; equal to the sums of usage_daily over the month, written in the same transaction';

REPLACE INTO usage_monthly (app_id, month, model, is_byok, requests, prompt_tokens,
                            completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at)
SELECT app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok, SUM(requests), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens), SUM(cost),
       MAX(updated_at)
FROM usage_daily
GROUP BY app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok;

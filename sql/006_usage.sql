-- 006_usage: one row per proxied request (chat, embeddings) and the per
-- app / UTC day / model rollup, both written in the same transaction by
-- db_usage_record (db/usage.c), so the rollup always equals the sums of the
-- rows. Money is DECIMAL(20,10) USD: exact sums, no binary floating point.
-- Safe to rerun (CREATE TABLE IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS usage_requests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
    COMMENT 'Row id, in order of recording',
  request_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
    COMMENT 'The gateway''s request id (x-request-id header, req_ + 24 hex); recording a request twice is refused',
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app billed (apps.id)',
  key_id BIGINT UNSIGNED NULL
    COMMENT 'The API key that made the request (api_keys.id); NULL if none',
  endpoint ENUM('chat','embeddings') NOT NULL
    COMMENT 'chat: POST /chat/completions; embeddings: POST /embeddings',
  model_requested VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'Model asked of the upstream (after defaultModel was applied); NULL if none was known',
  model_billed VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'Model the upstream says it used and billed (differs with models[] fallbacks); NULL if it never said',
  model VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
    AS (COALESCE(model_billed, model_requested, '')) STORED
    COMMENT 'model_billed when known, else model_requested, else empty: the model usage_daily counts the row under',
  generation_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'Upstream generation id (gen-...; X-Generation-Id), to look the generation up; NULL if none',
  prompt_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Prompt (input) tokens, as reported by the upstream or estimated',
  completion_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Completion (output) tokens, reasoning tokens included',
  cached_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Prompt tokens read from the provider''s cache (part of prompt_tokens)',
  reasoning_tokens BIGINT NOT NULL DEFAULT 0
    COMMENT 'Reasoning tokens (part of completion_tokens)',
  cost DECIMAL(20,10) NOT NULL DEFAULT 0
    COMMENT 'Cost of the request in USD; 0 when cost_source is none. For BYOK requests the app''s own upstream account paid it',
  cost_source ENUM('none','upstream','generation','estimate') NOT NULL
    COMMENT 'Where cost comes from: none (nothing billed or known), upstream (usage.cost of the answer), generation (the upstream''s generation record, asked afterwards), estimate (models price table x tokens)',
  is_byok BOOL NOT NULL DEFAULT FALSE
    COMMENT '1: made with the app''s own upstream key (BYOK), never counted against plan credits',
  status SMALLINT UNSIGNED NOT NULL
    COMMENT 'HTTP status answered to the client (200 also for a stream that later failed)',
  streamed BOOL NOT NULL DEFAULT FALSE
    COMMENT '1: answered as a server-sent event stream',
  aborted BOOL NOT NULL DEFAULT FALSE
    COMMENT '1: the client went away before the end (the upstream transfer was aborted)',
  ttft_us BIGINT NULL
    COMMENT 'Streams: microseconds from the request to the first content sent; NULL if none was sent or not a stream',
  duration_us BIGINT NOT NULL DEFAULT 0
    COMMENT 'Microseconds from the request''s arrival to its end',
  created_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the row was recorded (the end of the request); its date is the usage_daily day',
  PRIMARY KEY (id),
  UNIQUE KEY usage_requests_request (request_id),
  KEY usage_requests_app_time (app_id, created_at),
  KEY usage_requests_app_model_time (app_id, model, created_at),
  KEY usage_requests_generation (generation_id),
  KEY usage_requests_time (created_at),
  CONSTRAINT usage_requests_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT usage_requests_counts_not_negative CHECK (
    prompt_tokens >= 0 AND completion_tokens >= 0 AND cached_tokens >= 0 AND
    reasoning_tokens >= 0 AND cost >= 0 AND duration_us >= 0 AND
    (ttft_us IS NULL OR ttft_us >= 0)),
  CONSTRAINT usage_requests_status_http CHECK (status BETWEEN 100 AND 599)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Usage: one row per proxied request (chat, embeddings), written whether or not the client stayed';

CREATE TABLE IF NOT EXISTS usage_daily (
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  day DATE NOT NULL
    COMMENT 'UTC day (the date of usage_requests.created_at)',
  model VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'usage_requests.model: the model billed when known, else the model requested, else empty',
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
  PRIMARY KEY (app_id, day, model, is_byok),
  CONSTRAINT usage_daily_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Usage per app, UTC day, model and BYOK flag; kept equal to the sums of usage_requests in the same transaction';

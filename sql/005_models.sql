-- 005_models: the upstream's model list (OpenRouter GET /models), filled by
-- `aigw-admin models sync` or `models import FILE`. It answers
-- GET /v1/{app_id}/models from `record` and gives the list prices used to
-- estimate a cost (reservations, streams that ended without a usage report).
-- Safe to rerun (CREATE TABLE IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS models (
  id VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'Upstream model id, e.g. openai/gpt-4o (case-sensitive); what requests name in "model"',
  name VARCHAR(512) NULL
    COMMENT 'Display name from the upstream, e.g. "OpenAI: GPT-4o"; NULL if none was given',
  created BIGINT NULL
    COMMENT 'The upstream''s "created": when the model was added, Unix epoch seconds; NULL if none',
  context_length BIGINT NULL
    COMMENT 'Context window in tokens; NULL if unknown',
  price_prompt DECIMAL(24,14) NULL
    COMMENT 'USD per prompt (input) token, from pricing.prompt; NULL if unknown or variable (OpenRouter writes -1). More than 14 decimals are rounded up',
  price_completion DECIMAL(24,14) NULL
    COMMENT 'USD per completion (output) token, from pricing.completion; NULL if unknown or variable',
  price_request DECIMAL(24,14) NULL
    COMMENT 'USD per request (not per token), from pricing.request; NULL if unknown',
  price_input_cache_read DECIMAL(24,14) NULL
    COMMENT 'USD per cached prompt token read, from pricing.input_cache_read; NULL if unknown',
  max_completion_tokens BIGINT NULL
    COMMENT 'Most completion tokens one request may produce (top_provider.max_completion_tokens); NULL if unknown',
  record LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The upstream''s whole JSON record of the model, as received: /v1/{app_id}/models answers every field from it',
  synced_at DATETIME(6) NOT NULL
    COMMENT 'UTC time of the sync or import that last wrote the row',
  PRIMARY KEY (id),
  CONSTRAINT models_record_json CHECK (JSON_VALID(record) AND JSON_TYPE(record) = 'OBJECT'),
  CONSTRAINT models_prices_not_negative CHECK (
    (price_prompt IS NULL OR price_prompt >= 0) AND
    (price_completion IS NULL OR price_completion >= 0) AND
    (price_request IS NULL OR price_request >= 0) AND
    (price_input_cache_read IS NULL OR price_input_cache_read >= 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Models of the upstream with their list prices; replaced as a whole by each sync or import';

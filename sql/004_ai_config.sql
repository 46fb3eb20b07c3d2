-- 004_ai_config: each app's AI settings (PUT/GET /v1/{app_id}/ai/config).
-- A missing row means every setting is unset. Safe to rerun.

CREATE TABLE IF NOT EXISTS ai_config (
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  default_model VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'Model used when a request names none; NULL: the operator default',
  max_tokens_per_request INT NULL
    COMMENT 'Cap on max_tokens of one request, 1..100000; NULL: no cap',
  allowed_models LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'JSON array of the model ids the app may use; NULL: every model',
  byok_sealed VARBINARY(1024) NULL
    COMMENT 'Bring-your-own upstream key, sealed: 24-byte nonce || XChaCha20-Poly1305 ciphertext, app id as associated data; NULL: platform key',
  byok_key_id INT UNSIGNED NULL
    COMMENT 'Id of the keyring key byok_sealed is sealed under',
  byok_last4 CHAR(4) NULL
    COMMENT 'Last 4 characters of the BYOK key, for display',
  byok_updated_at DATETIME(6) NULL
    COMMENT 'UTC time the BYOK key was last set (a keyring rotation does not change it)',
  updated_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the settings were last written',
  PRIMARY KEY (app_id),
  CONSTRAINT ai_config_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT ai_config_max_tokens_range CHECK (max_tokens_per_request BETWEEN 1 AND 100000),
  CONSTRAINT ai_config_allowed_models_json
    CHECK (JSON_VALID(allowed_models) AND JSON_TYPE(allowed_models) = 'ARRAY'),
  CONSTRAINT ai_config_byok_key_id CHECK ((byok_sealed IS NULL) = (byok_key_id IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Per-app AI settings: default model, token cap, allowed models, sealed BYOK key';

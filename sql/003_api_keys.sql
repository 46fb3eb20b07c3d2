-- 003_api_keys: bearer tokens of the apps, stored only as keyed hashes.
-- Safe to rerun (CREATE TABLE IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
    COMMENT 'Key id, as shown by aigw-admin key list and used by key revoke',
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app the key belongs to (apps.id)',
  role ENUM('client','admin') NOT NULL
    COMMENT 'client: chat, embeddings, models; admin: everything, including config and usage',
  name VARCHAR(128) NOT NULL DEFAULT ''
    COMMENT 'Operator-chosen label',
  prefix VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'First 12 characters of the token, to recognise a key; not enough to use it',
  key_hash BINARY(32) NOT NULL
    COMMENT 'Keyed BLAKE2b-256 of the whole token under keyring key hash_key_id; the token itself is never stored',
  hash_key_id INT UNSIGNED NOT NULL
    COMMENT 'Id of the keyring key the hash was made with',
  created_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the key was created',
  revoked_at DATETIME(6) NULL
    COMMENT 'UTC time the key was revoked; NULL while it is active',
  PRIMARY KEY (id),
  UNIQUE KEY api_keys_hash (key_hash),
  KEY api_keys_app (app_id),
  CONSTRAINT api_keys_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='API keys: one row per token, found by its keyed hash';

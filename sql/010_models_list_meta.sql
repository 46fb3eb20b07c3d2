-- 010_models_list_meta: the upstream's model list beyond its records. Besides
-- "data", OpenRouter's GET /models answer carries top-level fields of its own
-- (links, total_count) that OpenRouter's SDK requires; GET /v1/{app_id}/models
-- keeps them. Written in the same transaction as the models table by
-- `aigw-admin models sync` and `models import FILE`; empty until the first
-- sync or import after this migration.
-- Safe to rerun (CREATE TABLE IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS models_list_meta (
  id TINYINT UNSIGNED NOT NULL DEFAULT 1
    COMMENT 'Always 1: the table holds at most one row, the last synced list',
  fields LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The list''s top-level fields other than "data", as one JSON object in the upstream''s order, e.g. {"links":{"next":null},"total_count":350}',
  synced_at DATETIME(6) NOT NULL
    COMMENT 'UTC time of the sync or import that wrote the row (models.synced_at of the same run)',
  PRIMARY KEY (id),
  CONSTRAINT models_list_meta_one_row CHECK (id = 1),
  CONSTRAINT models_list_meta_fields_json CHECK (JSON_VALID(fields) AND JSON_TYPE(fields) = 'OBJECT')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='The top-level fields of the upstream''s last model list; replaced by each sync or import';

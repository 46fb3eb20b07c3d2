-- 011_app_changes: the change feed of the gateway's per-process caches.
-- Every gateway process keeps an app's AI settings, plan and key lookups in
-- memory (handlers/app_cache.c) and reads this table once a second for the
-- apps changed since its previous read, so a change made anywhere (the
-- config API, aigw-admin, a DBA's UPDATE, another host) reaches every
-- process within about a second, without a query per request.
--
-- The triggers below write the row; nothing else needs to. They run as
-- their definer (the account that ran this migration), so the gateway's
-- runtime account needs no privilege beyond its writes to the tables.
-- The hot tables written per request (usage, billing periods,
-- reservations) have no trigger: a plan change also updates apps.
--
-- Safe to rerun (IF NOT EXISTS; each trigger dropped and made again).

CREATE TABLE IF NOT EXISTS app_changes (
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app changed (apps.id; no foreign key: a deleted app is a change too)',
  changed_at DATETIME(6) NOT NULL
    COMMENT 'UTC time of the latest change to the app, its keys or its AI settings (the statement''s time; visible at its commit)',
  PRIMARY KEY (app_id),
  KEY app_changes_time (changed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Change feed of the gateway caches: one row per app, its latest change time';

DROP TRIGGER IF EXISTS apps_insert_changes;
CREATE TRIGGER apps_insert_changes AFTER INSERT ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS apps_update_changes;
CREATE TRIGGER apps_update_changes AFTER UPDATE ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS apps_delete_changes;
CREATE TRIGGER apps_delete_changes AFTER DELETE ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS api_keys_insert_changes;
CREATE TRIGGER api_keys_insert_changes AFTER INSERT ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS api_keys_update_changes;
CREATE TRIGGER api_keys_update_changes AFTER UPDATE ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS api_keys_delete_changes;
CREATE TRIGGER api_keys_delete_changes AFTER DELETE ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS ai_config_insert_changes;
CREATE TRIGGER ai_config_insert_changes AFTER INSERT ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS ai_config_update_changes;
CREATE TRIGGER ai_config_update_changes AFTER UPDATE ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS ai_config_delete_changes;
CREATE TRIGGER ai_config_delete_changes AFTER DELETE ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

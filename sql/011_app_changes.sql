-- 011_app_changes: a per-app change feed, so that gateway processes which
-- keep an app's plan, keys or AI settings in memory learn of a change within
-- a poll (db_app_changes_since, db/app_changes.c) instead of reading the
-- database on every request. Triggers on the tables that hold those settings
-- stamp the app, so a change made through any path (the config PUT,
-- aigw-admin, a DBA's UPDATE by hand) is seen.
--
-- No trigger is put on the tables written per request (usage_requests,
-- usage_daily, usage_monthly, billing_periods, credit_reservations): a plan
-- change also closes billing periods, but it updates the apps row in the same
-- transaction, which the apps triggers stamp.
--
-- The triggers' DEFINER is the account that runs the migration
-- (aigw-admin migrate, as the schema owner); a trigger runs with its
-- definer's rights, so the runtime account needs no right on app_changes to
-- fire them, and that account must exist on every server that runs them
-- (keep it on replicas). Creating triggers needs the TRIGGER right, and with
-- binary logging on, SUPER or log_bin_trust_function_creators = 1.
--
-- changed_at is the time the changing statement started (UTC_TIMESTAMP(6)
-- in a trigger), not its commit: a reader polls from a few seconds before
-- its last poll to catch transactions that committed late.
--
-- Safe to rerun (CREATE TABLE IF NOT EXISTS, DROP TRIGGER IF EXISTS).

CREATE TABLE IF NOT EXISTS app_changes (
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app whose plan, keys or AI settings changed (apps.id; no foreign key: a deleted app is a change too)',
  changed_at DATETIME(6) NOT NULL
    COMMENT 'UTC start time of the last statement that changed the app''s apps, api_keys or ai_config rows (or its plan''s row)',
  PRIMARY KEY (app_id),
  KEY app_changes_time (changed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Last change per app of its plan, keys or AI settings, stamped by triggers; polled by the gateway to drop cached settings';

-- Each trigger is one upsert. An UPDATE stamps the old and the new app, which
-- differ only when a row moved to another app.

DROP TRIGGER IF EXISTS apps_changed_ins;
CREATE TRIGGER apps_changed_ins AFTER INSERT ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS apps_changed_upd;
CREATE TRIGGER apps_changed_upd AFTER UPDATE ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at)
  VALUES (OLD.id, UTC_TIMESTAMP(6)), (NEW.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS apps_changed_del;
CREATE TRIGGER apps_changed_del AFTER DELETE ON apps FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS api_keys_changed_ins;
CREATE TRIGGER api_keys_changed_ins AFTER INSERT ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS api_keys_changed_upd;
CREATE TRIGGER api_keys_changed_upd AFTER UPDATE ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at)
  VALUES (OLD.app_id, UTC_TIMESTAMP(6)), (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS api_keys_changed_del;
CREATE TRIGGER api_keys_changed_del AFTER DELETE ON api_keys FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

DROP TRIGGER IF EXISTS ai_config_changed_ins;
CREATE TRIGGER ai_config_changed_ins AFTER INSERT ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS ai_config_changed_upd;
CREATE TRIGGER ai_config_changed_upd AFTER UPDATE ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at)
  VALUES (OLD.app_id, UTC_TIMESTAMP(6)), (NEW.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);
DROP TRIGGER IF EXISTS ai_config_changed_del;
CREATE TRIGGER ai_config_changed_del AFTER DELETE ON ai_config FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at) VALUES (OLD.app_id, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

-- A plan's amounts or overage rule (a DBA's edit) decide what its apps' new
-- periods allow: every app on the plan is stamped. Plans change rarely.
DROP TRIGGER IF EXISTS plans_changed_upd;
CREATE TRIGGER plans_changed_upd AFTER UPDATE ON plans FOR EACH ROW
  INSERT INTO app_changes (app_id, changed_at)
  SELECT a.id, UTC_TIMESTAMP(6) FROM apps AS a WHERE a.plan_id IN (OLD.id, NEW.id)
  ON DUPLICATE KEY UPDATE changed_at = VALUES(changed_at);

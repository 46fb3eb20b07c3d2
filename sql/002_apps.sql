-- 002_apps: the tenants of the gateway and the history of their plans.
-- Safe to rerun (CREATE TABLE IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS apps (
  id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'App id, as in /v1/{app_id}/...; matches [A-Za-z0-9_-]{1,64}, case-sensitive',
  name VARCHAR(128) NOT NULL
    COMMENT 'Human-readable app name',
  plan_id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'free'
    COMMENT 'Current plan (plans.id); every change is recorded in app_plan_changes',
  billing_anchor DATETIME(6) NOT NULL
    COMMENT 'UTC start of the first billing period (the creation time); monthly periods start at this day and time of each month',
  created_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the app was created',
  updated_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the row last changed',
  PRIMARY KEY (id),
  KEY apps_plan (plan_id),
  CONSTRAINT apps_plan_fk FOREIGN KEY (plan_id) REFERENCES plans (id) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Apps: the tenants of the gateway, each on one plan';

CREATE TABLE IF NOT EXISTS app_plan_changes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
    COMMENT 'Row id, in order of the changes',
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  old_plan VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'Plan before the change; NULL for the plan given at creation',
  new_plan VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'Plan from changed_at on',
  changed_at DATETIME(6) NOT NULL
    COMMENT 'UTC time of the change (for the first row, the app creation time)',
  PRIMARY KEY (id),
  KEY app_plan_changes_app (app_id, changed_at),
  CONSTRAINT app_plan_changes_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT app_plan_changes_old_fk FOREIGN KEY (old_plan) REFERENCES plans (id) ON UPDATE CASCADE,
  CONSTRAINT app_plan_changes_new_fk FOREIGN KEY (new_plan) REFERENCES plans (id) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Plan history of each app, written in the same transaction as the change';

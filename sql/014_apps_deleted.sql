-- 014_apps_deleted: `aigw-admin app delete --force` of an app with usage keeps
-- the apps row (usage_requests, usage_daily, usage_monthly, billing_periods
-- and app_plan_changes keep pointing at it, for reports) and marks it
-- deleted; its keys are revoked and its ai_config row removed in the same
-- transaction, so the gateway no longer serves it (401: no active key).
-- An app without usage is removed outright and needs no mark.
-- Numbered 014: 013 is taken by another branch's migration. Safe to rerun.

ALTER TABLE apps
  ADD COLUMN IF NOT EXISTS deleted_at DATETIME(6) NULL
    COMMENT 'UTC time aigw-admin app delete --force deleted the app (its usage kept); NULL while it is live'
    AFTER updated_at;

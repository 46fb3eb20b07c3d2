-- 001_plans: the plans apps are on, seeded with the amounts of the product spec.
--
-- Applied once by `aigw-admin migrate`, which first creates schema_migrations
-- itself (it must read that table to know what to apply; see db/migrate.c).
-- Every statement is safe to rerun: a migration cut short can be applied
-- again. The seed uses INSERT IGNORE so a DBA's later edits of a plan's
-- amounts are never overwritten.

CREATE TABLE IF NOT EXISTS plans (
  id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'Plan key, referenced by apps.plan_id: free, pro or enterprise',
  display_name VARCHAR(64) NOT NULL
    COMMENT 'Human-readable plan name',
  credits_usd DECIMAL(20,10) NULL
    COMMENT 'AI credits per period in USD; NULL means unlimited',
  period ENUM('lifetime','monthly') NOT NULL
    COMMENT 'lifetime: the credits never reset; monthly: they reset every month from apps.billing_anchor',
  overage_allowed BOOL NOT NULL DEFAULT FALSE
    COMMENT '1: usage beyond the credits goes on and is recorded as overage; 0: it is refused with HTTP 402',
  created_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))
    COMMENT 'UTC time the plan row was created',
  PRIMARY KEY (id),
  CONSTRAINT plans_credits_not_negative CHECK (credits_usd IS NULL OR credits_usd >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Plans: how much AI spend each app gets per billing period';

INSERT IGNORE INTO plans (id, display_name, credits_usd, period, overage_allowed, created_at) VALUES
  ('free', 'Free', 0.1000000000, 'lifetime', FALSE, UTC_TIMESTAMP(6)),
  ('pro', 'Pro', 10.0000000000, 'monthly', TRUE, UTC_TIMESTAMP(6)),
  ('enterprise', 'Enterprise', NULL, 'monthly', TRUE, UTC_TIMESTAMP(6));

-- 007_billing: billing periods (what each app may spend, and has spent, per
-- period of its plan) and credit reservations (the worst-case cost of the
-- metered requests in flight). See db/credits.c.
--
-- Periods are made lazily by the gateway when a request needs one (no cron
-- job): free has one lifetime period per app, pro and enterprise one per
-- month from apps.billing_anchor. A period copies the plan's amount and
-- overage rule when it is made, so the allowance of a period never changes
-- under it: a DBA who edits plans.credits_usd changes the periods made from
-- then on (the next month; for the lifetime free plan, apps that have not
-- made their period yet). To change a running period, UPDATE its
-- allowance_usd as well.
--
-- A plan change (aigw-admin app set-plan) closes the app's open period at
-- the time of the change and restarts apps.billing_anchor there, so the new
-- plan's first period starts at once; an app coming back to a lifetime plan
-- gets its old lifetime period back (the free $0.10 is per app, for life).
--
-- Safe to rerun (IF NOT EXISTS everywhere).

CREATE TABLE IF NOT EXISTS billing_periods (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
    COMMENT 'Period id (credit_reservations.period_id, usage_requests.period_id)',
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  plan_id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The plan the app was on during the period (plans.id)',
  period_kind ENUM('lifetime','monthly') NOT NULL
    COMMENT 'plans.period when the period was made: lifetime (one per app and plan, never resets) or monthly',
  period_start DATETIME(6) NOT NULL
    COMMENT 'UTC start of the period, inclusive',
  period_end DATETIME(6) NULL
    COMMENT 'UTC end of the period, exclusive; NULL for an open lifetime period. A plan change sets it to the time of the change',
  allowance_usd DECIMAL(20,10) NULL
    COMMENT 'Credits of the period in USD, copied from plans.credits_usd when the period was made; NULL means unlimited',
  overage_allowed BOOL NOT NULL
    COMMENT 'Copied from plans.overage_allowed: 1 lets usage go on past allowance_usd (recorded as overage), 0 answers HTTP 402',
  used_usd DECIMAL(20,10) NOT NULL DEFAULT 0
    COMMENT 'Settled cost in USD of the metered (non-BYOK) requests charged to the period; may exceed allowance_usd (overage)',
  reserved_usd DECIMAL(20,10) NOT NULL DEFAULT 0
    COMMENT 'Sum of the outstanding credit_reservations of the period (requests in flight), USD',
  created_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the row was made (the first request that needed it)',
  updated_at DATETIME(6) NOT NULL
    COMMENT 'UTC time the row last changed',
  PRIMARY KEY (id),
  UNIQUE KEY billing_periods_app_start (app_id, period_start),
  KEY billing_periods_app_plan (app_id, plan_id, period_kind),
  KEY billing_periods_plan (plan_id),
  CONSTRAINT billing_periods_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT billing_periods_plan_fk FOREIGN KEY (plan_id) REFERENCES plans (id) ON UPDATE CASCADE,
  CONSTRAINT billing_periods_money_not_negative CHECK (
    (allowance_usd IS NULL OR allowance_usd >= 0) AND used_usd >= 0 AND reserved_usd >= 0),
  CONSTRAINT billing_periods_end_after_start CHECK (period_end IS NULL OR period_end >= period_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Billing periods: per app and period, the allowance, the settled spend and the reserved spend; the current period of an app is the one with period_start <= now < period_end (or period_end NULL)';

CREATE TABLE IF NOT EXISTS credit_reservations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
    COMMENT 'Reservation id',
  period_id BIGINT UNSIGNED NOT NULL
    COMMENT 'The billing period whose reserved_usd includes amount_usd (billing_periods.id)',
  app_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'The app (apps.id)',
  request_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
    COMMENT 'The gateway request holding it (x-request-id, usage_requests.request_id once recorded)',
  amount_usd DECIMAL(20,10) NOT NULL
    COMMENT 'Worst-case cost reserved in USD (price table x prompt estimate and max tokens, or the configured floor)',
  created_at DATETIME(6) NOT NULL
    COMMENT 'UTC time of the reservation',
  expires_at DATETIME(6) NOT NULL
    COMMENT 'UTC time after which the reservation is released by the next reservation of the period (a worker that died holding it)',
  PRIMARY KEY (id),
  UNIQUE KEY credit_reservations_request (request_id),
  KEY credit_reservations_period_expiry (period_id, expires_at),
  KEY credit_reservations_app (app_id),
  CONSTRAINT credit_reservations_period_fk FOREIGN KEY (period_id) REFERENCES billing_periods (id),
  CONSTRAINT credit_reservations_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT credit_reservations_amount_not_negative CHECK (amount_usd >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Credit reservations of metered requests in flight: removed when the request is settled (usage recorded) or released, or by the next reservation once expired';

-- Which period a request's cost went to; no foreign key, so that recording
-- usage takes no shared lock on the period row it then updates.
ALTER TABLE usage_requests
  ADD COLUMN IF NOT EXISTS period_id BIGINT UNSIGNED NULL
    COMMENT 'The billing period whose used_usd took this request''s cost (billing_periods.id); NULL for BYOK and unmetered requests',
  ADD KEY IF NOT EXISTS usage_requests_period (period_id);

-- billing_anchor now restarts at every plan change.
ALTER TABLE apps
  MODIFY COLUMN billing_anchor DATETIME(6) NOT NULL
    COMMENT 'UTC start of the current plan''s billing: the creation time, reset at each plan change; monthly periods start at this day and time of each month (day clamped to the month''s last day)';

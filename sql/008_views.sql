-- 008_views: views for the DBA's common questions. Views cannot carry
-- COMMENTs, so each is described here, column by column. All money is USD
-- in exact DECIMAL; days are UTC. Safe to rerun (CREATE OR REPLACE).
--
-- The usage figures come from usage_daily, the same rollup (and the same
-- day ranges) GET /v1/{app}/ai/usage reads, so a view and the endpoint give
-- the same numbers to the last decimal.

-- v_spend_per_app_period: one row per billing period of every app.
--   app_id, app_name      the app (apps.id, apps.name)
--   period_id             billing_periods.id
--   plan, period_kind     the plan of the period and its kind (lifetime | monthly)
--   period_start, period_end  UTC bounds, [start, end); end NULL: open lifetime period
--   is_current            1 for the period containing the current time
--   allowance_usd         credits of the period; NULL: unlimited
--   overage_allowed       1: usage may go on past the allowance (pro, enterprise)
--   used_usd              settled cost of the metered (non-BYOK) requests charged to it:
--                         what the endpoint reports as credits.used
--   reserved_usd          outstanding reservations (requests in flight)
--   overage_usd           used beyond the allowance (0 when unlimited): credits.overage
--   remaining_usd         allowance - used, never below 0; NULL when unlimited:
--                         credits.remaining (reservations are not subtracted)
--   first_day, last_day   the UTC days of the period, as the usage endpoint's default
--                         range: DATE(period_start) to today for the current period, to
--                         the day of the period's last instant for an ended one. A
--                         period boundary falls inside a day, so that day counts in
--                         both periods below (used_usd is exact per period)
--   requests, prompt_tokens, completion_tokens, total_tokens, cost_usd
--                         every request of those days, BYOK included (the endpoint's
--                         requests, promptTokens, completionTokens, totalTokens, totalCost
--                         for startDate=first_day, endDate=last_day)
--   metered_cost_usd      the non-BYOK part of cost_usd
--   byok_requests, byok_tokens, byok_cost_usd   the BYOK part (the endpoint's byok)
-- A lifetime period that was left and taken up again (free -> pro -> free) spans
-- the days of the other plan's periods too: use used_usd for its credits.
CREATE OR REPLACE VIEW v_spend_per_app_period AS
SELECT
  b.app_id,
  a.name AS app_name,
  b.id AS period_id,
  b.plan_id AS plan,
  b.period_kind,
  b.period_start,
  b.period_end,
  (b.period_start <= UTC_TIMESTAMP(6) AND
   (b.period_end IS NULL OR b.period_end > UTC_TIMESTAMP(6))) AS is_current,
  b.allowance_usd,
  b.overage_allowed,
  b.used_usd,
  b.reserved_usd,
  CASE WHEN b.allowance_usd IS NULL THEN 0
       ELSE GREATEST(b.used_usd - b.allowance_usd, 0) END AS overage_usd,
  CASE WHEN b.allowance_usd IS NULL THEN NULL
       ELSE GREATEST(b.allowance_usd - b.used_usd, 0) END AS remaining_usd,
  DATE(b.period_start) AS first_day,
  LEAST(UTC_DATE(),
        DATE(COALESCE(b.period_end, '9999-12-31 23:59:59') - INTERVAL 1 MICROSECOND)) AS last_day,
  COALESCE(SUM(d.requests), 0) AS requests,
  COALESCE(SUM(d.prompt_tokens), 0) AS prompt_tokens,
  COALESCE(SUM(d.completion_tokens), 0) AS completion_tokens,
  COALESCE(SUM(d.prompt_tokens + d.completion_tokens), 0) AS total_tokens,
  COALESCE(SUM(d.cost), 0) AS cost_usd,
  COALESCE(SUM(CASE WHEN d.is_byok THEN 0 ELSE d.cost END), 0) AS metered_cost_usd,
  COALESCE(SUM(CASE WHEN d.is_byok THEN d.requests ELSE 0 END), 0) AS byok_requests,
  COALESCE(SUM(CASE WHEN d.is_byok THEN d.prompt_tokens + d.completion_tokens ELSE 0 END), 0)
    AS byok_tokens,
  COALESCE(SUM(CASE WHEN d.is_byok THEN d.cost ELSE 0 END), 0) AS byok_cost_usd
FROM billing_periods AS b
JOIN apps AS a ON a.id = b.app_id
LEFT JOIN usage_daily AS d
  ON d.app_id = b.app_id
 AND d.day BETWEEN DATE(b.period_start)
               AND LEAST(UTC_DATE(),
                         DATE(COALESCE(b.period_end, '9999-12-31 23:59:59') - INTERVAL 1 MICROSECOND))
GROUP BY b.id, b.app_id, a.name, b.plan_id, b.period_kind, b.period_start, b.period_end,
  b.allowance_usd, b.overage_allowed, b.used_usd, b.reserved_usd;

-- v_spend_per_model_day: one row per app, UTC day and model (usage_requests.model:
-- the model billed, else the one requested).
--   app_id, day, model
--   requests, prompt_tokens, completion_tokens, total_tokens   all requests, BYOK included
--   cost_usd              total cost, BYOK included
--   metered_cost_usd      the part paid with the platform key (counted against credits)
--   byok_requests, byok_cost_usd   the part made with the app's own key (never counted)
CREATE OR REPLACE VIEW v_spend_per_model_day AS
SELECT
  d.app_id,
  d.day,
  d.model,
  SUM(d.requests) AS requests,
  SUM(d.prompt_tokens) AS prompt_tokens,
  SUM(d.completion_tokens) AS completion_tokens,
  SUM(d.prompt_tokens + d.completion_tokens) AS total_tokens,
  SUM(d.cost) AS cost_usd,
  SUM(CASE WHEN d.is_byok THEN 0 ELSE d.cost END) AS metered_cost_usd,
  SUM(CASE WHEN d.is_byok THEN d.requests ELSE 0 END) AS byok_requests,
  SUM(CASE WHEN d.is_byok THEN d.cost ELSE 0 END) AS byok_cost_usd
FROM usage_daily AS d
GROUP BY d.app_id, d.day, d.model;

-- v_top_apps: per app, the last 30 UTC days (today and the 29 before), biggest
-- spender first; apps without usage in that window are left out.
--   app_id, app_name, plan   the app and its current plan
--   requests, total_tokens, cost_usd   all requests, BYOK included
--   metered_cost_usd, byok_cost_usd    split of cost_usd by key (platform | the app's own)
--   first_day, last_day      the window
CREATE OR REPLACE VIEW v_top_apps AS
SELECT
  d.app_id,
  a.name AS app_name,
  a.plan_id AS plan,
  SUM(d.requests) AS requests,
  SUM(d.prompt_tokens + d.completion_tokens) AS total_tokens,
  SUM(d.cost) AS cost_usd,
  SUM(CASE WHEN d.is_byok THEN 0 ELSE d.cost END) AS metered_cost_usd,
  SUM(CASE WHEN d.is_byok THEN d.cost ELSE 0 END) AS byok_cost_usd,
  UTC_DATE() - INTERVAL 29 DAY AS first_day,
  UTC_DATE() AS last_day
FROM usage_daily AS d
JOIN apps AS a ON a.id = d.app_id
WHERE d.day BETWEEN UTC_DATE() - INTERVAL 29 DAY AND UTC_DATE()
GROUP BY d.app_id, a.name, a.plan_id
ORDER BY cost_usd DESC, d.app_id;

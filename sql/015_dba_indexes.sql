-- 015_dba_indexes: what the DBAs' usual questions need. "The last 7 days" and
-- "this month" over every app read the rollups by day first, so each gets an
-- index that starts with its date (the primary keys start with the app).
-- v_top_apps' first_day and last_day become the first and last day the app
-- was used inside the 30-day window (they were the window's own ends).
-- Safe to rerun (IF NOT EXISTS, CREATE OR REPLACE).

ALTER TABLE usage_daily
  ADD KEY IF NOT EXISTS usage_daily_day (day, app_id);

ALTER TABLE usage_monthly
  ADD KEY IF NOT EXISTS usage_monthly_month (month, app_id);

-- v_top_apps: per app, the last 30 UTC days (today and the 29 before), biggest
-- spender first; apps without usage in that window are left out.
--   app_id, app_name, plan   the app and its current plan
--   requests, total_tokens, cost_usd   all requests, BYOK included
--   metered_cost_usd, byok_cost_usd    split of cost_usd by key (platform | the app's own)
--   first_day, last_day      the first and last UTC day with usage in the window
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
  MIN(d.day) AS first_day,
  MAX(d.day) AS last_day
FROM usage_daily AS d
JOIN apps AS a ON a.id = d.app_id
WHERE d.day BETWEEN UTC_DATE() - INTERVAL 29 DAY AND UTC_DATE()
GROUP BY d.app_id, a.name, a.plan_id
ORDER BY cost_usd DESC, d.app_id;

-- 016_usage_error: the error a request's client got, on its usage row, so
-- that "which requests failed" and "whose cost is not the upstream's own
-- figure" are told apart (a refused or failed request records cost_source
-- 'none' or an estimate too). NULL when the answer was not an error.
-- Safe to rerun (ADD COLUMN IF NOT EXISTS).

ALTER TABLE usage_requests
  ADD COLUMN IF NOT EXISTS error VARCHAR(32) CHARACTER SET ascii NULL
    COMMENT 'The error type the client got (invalid_request_error, insufficient_quota, rate_limit_error, upstream_error, service_unavailable, server_error...; worker_died: the process serving it died and it was settled from its journal), also for a stream that ended with an error event; NULL if none'
    AFTER status;

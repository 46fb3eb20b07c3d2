-- wrk script for tests/bench/run: POST $BENCH_BODY with the headers in
-- $BENCH_HEADERS (one "Name: value" per line; each gateway needs its own), and
-- print one parseable line of latency percentiles in microseconds.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
	local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
	if name then
		wrk.headers[name] = value
	end
end

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d errors=%d status_errors=%d p50=%d p90=%d p99=%d max=%d rps=%.1f\n",
		summary.requests,
		summary.errors.connect + summary.errors.read + summary.errors.write +
			summary.errors.status + summary.errors.timeout,
		summary.errors.status,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		summary.requests / (summary.duration / 1e6)))
end

-- wrk script: GET the URL, with the bearer key in $BENCH_KEY when it is set
-- (none for /v1/health), and print latency percentiles in microseconds as
-- one line a benchmark script can parse (the same line as post.lua).
wrk.method = "GET"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. key
end

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d errors=%d p50=%d p90=%d p99=%d max=%d rps=%.1f\n",
		summary.requests,
		summary.errors.connect + summary.errors.read + summary.errors.write +
			summary.errors.status + summary.errors.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		summary.requests / (summary.duration / 1e6)))
end

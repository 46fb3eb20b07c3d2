-- wrk script: POST the body in $BENCH_BODY with the bearer key in $BENCH_KEY,
-- and print latency percentiles in microseconds as one line a benchmark
-- script can parse.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d errors=%d p50=%d p90=%d p99=%d max=%d rps=%.1f\n",
		summary.requests,
		summary.errors.connect + summary.errors.read + summary.errors.write +
			summary.errors.status + summary.errors.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		summary.requests / (summary.duration / 1e6)))
end

-- wrk script: at the end prints one line that bench/run.sh reads (throughput, latency percentiles
-- in microseconds, and every kind of error wrk counts).
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "ZW_RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d bytes=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.requests, summary.bytes, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end

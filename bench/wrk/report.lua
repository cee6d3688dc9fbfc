-- Shared by the scripts beside it: requests/s and the percentiles wrk does not print (p95).
local report = {}

function report.done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "requests/s %.0f  p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  errors %d of %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors, summary.requests))
end

-- A comma-separated environment variable as a list; fails loudly when unset.
function report.list(name)
  local value = os.getenv(name)
  assert(value and value ~= "", name .. " is not set")
  local items = {}
  for item in string.gmatch(value, "[^,]+") do
    table.insert(items, item)
  end
  return items
end

return report

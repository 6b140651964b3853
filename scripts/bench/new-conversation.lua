-- wrk script: every request a new conversation (a different first user message, so a
-- different default session hash), JSON passthrough. Prints bench.sh's RESULT line.
-- env: WRK_HEADERS "Name: value|..."; WRK_MODEL (default gpt-4o-mini); WRK_SAME=1 builds
-- every body the same way but for one conversation (the control: the same Lua cost on
-- the load generator, no new sessions).
local model = os.getenv("WRK_MODEL") or "gpt-4o-mini"
local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local hs = os.getenv("WRK_HEADERS") or ""
for item in string.gmatch(hs, "[^|]+") do
  local k, v = string.match(item, "^%s*([^:]+):%s*(.-)%s*$")
  if k then wrk.headers[k] = v end
end

local same = os.getenv("WRK_SAME") == "1"

function request()
  if not same then counter = counter + 1 end
  local body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"Say hello, conversation ' .. run .. '-' .. counter .. '."}],"max_tokens":32}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local errs = e.connect + e.read + e.write + e.status + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f errors=%d status=%d timeout=%d connect=%d read=%d write=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    errs, e.status, e.timeout, e.connect, e.read, e.write))
end

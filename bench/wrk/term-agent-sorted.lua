-- Query (1) of `callscope bench` over HTTP: term on agent id, sorted by start time, top 10.
-- Env: CALLSCOPE_KEY (read scope), AGENTS (comma-separated agent ids to cycle through).
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local report = require("report")
local key = os.getenv("CALLSCOPE_KEY")
local agents = report.list("AGENTS")
local n = 0

request = function()
  n = n + 1
  local body = '{"query": {"term": {"agent.id": "' .. agents[(n % #agents) + 1]
    .. '"}}, "sort": [{"started_at": "desc"}], "size": 10}'
  return wrk.format("POST", "/v1/calls/query",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end

done = report.done

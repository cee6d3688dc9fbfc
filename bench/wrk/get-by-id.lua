-- Query (6) of `callscope bench` over HTTP: a session by id through Vonage's API.
-- Env: CALLSCOPE_KEY (read scope), IDS (comma-separated call ids to cycle through).
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local report = require("report")
local key = os.getenv("CALLSCOPE_KEY")
local ids = report.list("IDS")
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", "/insights/sessions/search/" .. ids[(n % #ids) + 1],
    {["X-Vgai-Key"] = key})
end

done = report.done

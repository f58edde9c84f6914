-- wrk script: GET /api/user/{id}, a different id per request. Credentials:
--   BENCH_TOKENS=file  one "id token" per line: each user reads their own
--                      profile with their own Clerk session token
--   BENCH_BEARER=tok   one bearer token (a service token) on every request
--   neither            no credentials (AUTH_MODE=none), ids u1..BENCH_USERS
-- Requests are formatted once in init(): wrk and the service share the machine,
-- so the load generator should spend as little CPU per request as it can.
local requests = {}
local counter = 0

init = function(args)
  local tokens, bearer = os.getenv("BENCH_TOKENS"), os.getenv("BENCH_BEARER")
  if tokens then
    for line in io.lines(tokens) do
      local id, token = line:match("^(%S+) (%S+)$")
      requests[#requests + 1] =
        wrk.format("GET", "/api/user/" .. id, { ["Authorization"] = "Bearer " .. token })
    end
  else
    local headers = bearer and { ["Authorization"] = "Bearer " .. bearer } or {}
    for i = 1, tonumber(os.getenv("BENCH_USERS") or "10000") do
      requests[i] = wrk.format("GET", "/api/user/u" .. i, headers)
    end
  end
  -- Threads start at different places, so together they cover every request.
  counter = math.random(#requests)
end

request = function()
  counter = counter % #requests + 1
  return requests[(counter * 7919) % #requests + 1]
end

-- BENCH_DELAY_MS: each connection pauses this long between requests (an
-- offered load rather than a saturating one; bench/soak.sh).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  delay = function() return pause end
end

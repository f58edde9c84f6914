-- wrk script for the write path (AUTH_MODE=none), a different user per request:
--   BENCH_WRITE=rating  POST /api/user/u{i}/update-customer-rating {"rating": r}
--   BENCH_WRITE=sync    POST /api/user/sync-from-frontend, an existing user's
--                       profile with a changed first name (the update path)
local n = tonumber(os.getenv("BENCH_USERS") or "10000")
local kind = os.getenv("BENCH_WRITE") or "rating"
local requests = {}
local counter = 0

-- Each thread its own random sequence: unseeded, wrk's threads would all
-- write the same users in lockstep.
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

init = function(args)
  math.randomseed(os.time() * 97 + (thread_id or 0) * 7919)
  local headers = { ["Content-Type"] = "application/json" }
  for i = 1, n do
    if kind == "sync" then
      requests[i] = wrk.format("POST", "/api/user/sync-from-frontend", headers, string.format(
        '{"clerk_user_id":"u%d","email":"u%d@example.com","first_name":"F%d","last_name":"Last%d"}',
        i, i, math.random(1000), i))
    else
      requests[i] = wrk.format("POST", "/api/user/u" .. i .. "/update-customer-rating", headers,
        string.format('{"rating": %.1f}', math.random(0, 50) / 10))
    end
  end
  counter = math.random(n)
end

request = function()
  counter = counter % n + 1
  return requests[(counter * 7919) % n + 1]
end

-- BENCH_DELAY_MS: each connection pauses this long between requests (an
-- offered load rather than a saturating one; bench/soak.sh).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  delay = function() return pause end
end

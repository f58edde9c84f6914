-- wrk script: GET /api/user/{id} over ids u1..uN, a different id per request.
-- Requests are formatted once in init(): wrk and the service share the machine,
-- so the load generator should spend as little CPU per request as it can.
local n = tonumber(os.getenv("BENCH_USERS") or "10000")
local requests = {}
local counter = 0

init = function(args)
  for i = 1, n do
    requests[i] = wrk.format("GET", "/api/user/u" .. i)
  end
end

request = function()
  counter = counter % n + 1
  return requests[(counter * 7919) % n + 1]
end

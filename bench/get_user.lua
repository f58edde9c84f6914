-- wrk script: GET /api/user/{id} over ids u1..uN, a different id per request.
local n = tonumber(os.getenv("BENCH_USERS") or "10000")
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % n + 1
  return wrk.format("GET", "/api/user/u" .. id)
end

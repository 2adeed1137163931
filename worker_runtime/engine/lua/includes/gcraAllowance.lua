-- GCRA without burst, for per-key limits (one number per key): starts are spaced
-- period/limit apart, so any window of `period` holds at most limit + 1 of them.
local function gcraAllowance(key, field, now, limit, period, want)
  local interval = period / limit
  local tat = tonumber(redis.call('HGET', key, field)) or now
  if tat < now then tat = now end
  if tat > now then return 0, math.ceil(tat - now) end
  return 1, 0
end

-- Records n starts of a GCRA limiter (see gcraAllowance).
-- expire: the key holds one limiter only, so it may vanish once it no longer limits.
local function gcraCharge(key, field, now, limit, period, n, expire)
  if n <= 0 then return end
  local interval = period / limit
  local tat = tonumber(redis.call('HGET', key, field)) or now
  if tat < now then tat = now end
  redis.call('HSET', key, field, tostring(tat + n * interval))
  if expire then redis.call('PEXPIRE', key, math.ceil(tat + n * interval - now + period)) end
end

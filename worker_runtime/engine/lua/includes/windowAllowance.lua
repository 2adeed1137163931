-- Rate limit by sliding log: how many of `want` starts fit now under `limit` per `period`
-- ms, so that no window of `period` ever holds more than `limit` starts; and the ms until
-- one fits.
local function windowAllowance(logKey, now, limit, period, want)
  redis.call('ZREMRANGEBYSCORE', logKey, '-inf', now - period)
  local used = redis.call('ZCARD', logKey)
  if used < limit then return math.min(want, limit - used), 0 end
  local oldest = redis.call('ZRANGE', logKey, 0, 0, 'WITHSCORES')
  return 0, math.max(1, tonumber(oldest[2]) + period - now)
end

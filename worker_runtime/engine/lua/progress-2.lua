--[[
  progress: records a running job's progress (percent and message).

  Guarantee: only the holder of the current lease can write it.

  KEYS[1] lease     hash  id -> "token|..."
  KEYS[2] progress  hash  id -> {"pct":N,"msg":"...","at":ms}

  ARGV[1] id  ARGV[2] token  ARGV[3] percent (0-100)  ARGV[4] message

  Returns 1, or -1 when the lease was lost.
]]
--@include common

local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or string.sub(v, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then return -1 end
redis.call('HSET', KEYS[2], ARGV[1],
  cjson.encode({ pct = tonumber(ARGV[3]), msg = ARGV[4], at = nowMs() }))
return 1

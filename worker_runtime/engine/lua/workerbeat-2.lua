--[[
  workerbeat: records that a worker is alive, with its description, and forgets workers
  silent for longer than ARGV[3] ms.

  Guarantee: the registry entry and its description change together.

  KEYS[1] workers  zset  name -> last heartbeat ms
  KEYS[2] the worker's description key (string, expires after ARGV[3] ms)

  ARGV[1] worker name   ARGV[2] description json ("" when the worker stops)
  ARGV[3] ms after which a silent worker is forgotten

  Returns the number of stale workers forgotten.
]]
--@include common

local now = nowMs()
local ttl = tonumber(ARGV[3])
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
else
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
end
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)

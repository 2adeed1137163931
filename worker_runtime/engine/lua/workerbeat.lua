--[[
  workerbeat: records that a worker is alive, with its description, and forgets workers
  silent for longer than ARGV[3] ms.

  Guarantee: the registry entry and its description change together.

  Keys:
    K.workers  zset  name -> last heartbeat ms
    K.worker   the worker's description key (string, expires after ARGV[3] ms)

  ARGV[1] worker name   ARGV[2] description json ("" when the worker stops)
  ARGV[3] ms after which a silent worker is forgotten

  Returns the number of stale workers forgotten.
]]
--@include nowMs

local now = nowMs()
local ttl = tonumber(ARGV[3])
if ARGV[2] == '' then
  redis.call('ZREM', K.workers, ARGV[1])
  redis.call('DEL', K.worker)
else
  redis.call('ZADD', K.workers, now, ARGV[1])
  redis.call('SET', K.worker, ARGV[2], 'PX', ttl)
end
return redis.call('ZREMRANGEBYSCORE', K.workers, '-inf', now - ttl)

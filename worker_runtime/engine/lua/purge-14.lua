--[[
  purge: deletes the jobs of one state of one queue, with all their data.

  Guarantee: a job is removed from its state set and from every data hash in one step,
  and its dedupe key is released; a purged running job's completion is refused later
  (its lease is gone). At most ARGV[1] jobs per call: callers loop until it returns 0.

  KEYS[1] the state's sorted set (pending, delayed, running, completed, dead, cancelled)
  KEYS[2] jobs  KEYS[3] hist  KEYS[4] result  KEYS[5] reason  KEYS[6] att
  KEYS[7] dedupe  KEYS[8] dk  KEYS[9] dprio  KEYS[10] lease  KEYS[11] cancelreq
  KEYS[12] progress  KEYS[13] rkey  KEYS[14] keyrun

  ARGV[1] max jobs per call
  ARGV[2] age ms: only jobs whose score (finish time) is older than now - age;
          -1 for every job in the set

  Returns the number of jobs deleted.
]]
--@include common
--@include slots

local ids
if tonumber(ARGV[2]) < 0 then
  ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs() - tonumber(ARGV[2]),
    'LIMIT', 0, tonumber(ARGV[1]))
end
if #ids == 0 then return 0 end
for _, id in ipairs(ids) do releaseDedupe(KEYS[7], KEYS[8], id) end
releaseKeySlots({ rkey = KEYS[13], keyrun = KEYS[14] }, ids)
redis.call('ZREM', KEYS[1], unpack(ids))
for _, k in ipairs({ KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[9], KEYS[10], KEYS[12] }) do
  redis.call('HDEL', k, unpack(ids))
end
redis.call('SREM', KEYS[11], unpack(ids))
return #ids

--[[
  cancel: cancels a job that has not finished.

  Guarantee: a pending or delayed job becomes `cancelled` at once and is never handed
  out; a running job is flagged, its worker learns of it at its next heartbeat, and its
  completion is refused (it ends `cancelled`).

  KEYS[1] pending  KEYS[2] delayed  KEYS[3] dprio  KEYS[4] running  KEYS[5] cancelreq
  KEYS[6] cancelled  KEYS[7] reason  KEYS[8] jobs  KEYS[9] dedupe  KEYS[10] dk
  KEYS[11] config  KEYS[12] att  KEYS[13] hist  KEYS[14] result  KEYS[15] progress

  ARGV[1] id

  Returns 1 cancelled, 2 running (cancellation requested), 0 already finished,
  -4 no such job.
]]
--@include common
--@include finish

local K = { pending = KEYS[1], delayed = KEYS[2], dprio = KEYS[3], running = KEYS[4],
  cancelreq = KEYS[5], cancelled = KEYS[6], reason = KEYS[7], jobs = KEYS[8], dedupe = KEYS[9],
  dk = KEYS[10], config = KEYS[11], att = KEYS[12], hist = KEYS[13], result = KEYS[14],
  progress = KEYS[15] }
local id = ARGV[1]
if redis.call('HEXISTS', K.jobs, id) == 0 then return -4 end
if redis.call('ZSCORE', K.running, id) then
  redis.call('SADD', K.cancelreq, id)
  return 2
end
local removed = redis.call('ZREM', K.pending, id) + redis.call('ZREM', K.delayed, id)
if removed == 0 then return 0 end
redis.call('HDEL', K.dprio, id)
local cfg = redis.call('HMGET', K.config, unpack(FINISH_CONFIG))
toCancelled(K, id, nowMs(), cfg)
return 1

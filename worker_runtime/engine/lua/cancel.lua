--[[
  cancel: cancels a job that has not finished.

  Guarantee: a pending, delayed or waiting job becomes `cancelled` at once and is never handed
  out; a running job is flagged, its worker learns of it at its next heartbeat, and its
  completion is refused (it ends `cancelled`).

  Keys: K.pending  K.delayed  K.dprio  K.running  K.cancelreq  K.cancelled  K.reason
  K.jobs  K.dedupe  K.dk  K.config  K.att  K.hist  K.result  K.progress  K.since
  Dependants (settleDependants): K.waiting  K.deps  K.dependants  K.seq

  ARGV[1] id
  ARGV[2] done channel (the id, when it is cancelled now, for waiters)

  Returns 1 cancelled, 2 running (cancellation requested), 0 already finished,
  -4 no such job.
]]
--@include nowMs
--@include config
--@include finishConfig
--@include toCancelled
--@include settleDependants
--@include eventsOn
--@include publishEvents
--@include uses

local id = ARGV[1]
if redis.call('HEXISTS', K.jobs, id) == 0 then return -4 end
if redis.call('ZSCORE', K.running, id) then
  redis.call('SADD', K.cancelreq, id)
  addUse(K.config, redis.call('HGET', K.config, USES) or nil, 'c')
  return 2
end
local removed = redis.call('ZREM', K.pending, id) + redis.call('ZREM', K.delayed, id)
  + redis.call('ZREM', K.waiting, id)
if removed == 0 then return 0 end
redis.call('HDEL', K.dprio, id)
redis.call('HDEL', K.since, id)
local cfg = readConfig(K.config, FINISH_CONFIG)
local now = nowMs()
local events = eventsOn(K.jobs)
local evs = {}
if events then
  evs[1] = { type = 'cancelled', id = id, attempt = tonumber(redis.call('HGET', K.att, id)) or 0,
    reason = 'Cancelled' }
end
settleDependants(K, { id }, 'cancelled', now, cfg, evs)
publishEvents(events, K.jobs, now, evs)
toCancelled(K, id, now, cfg)
redis.call('PUBLISH', ARGV[2], id)
return 1

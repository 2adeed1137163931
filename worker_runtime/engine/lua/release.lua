--[[
  release: hands running jobs back to pending without counting the attempt (a worker
  shutting down gracefully), at their original place in line.

  Guarantee: only the holder of the current lease can release a job; a job whose
  cancellation was requested ends cancelled instead.

  Keys: K.running  K.lease  K.att  K.pending  K.cancelreq  K.cancelled  K.reason
  K.dedupe  K.dk  K.jobs  K.hist  K.result  K.config  K.progress  K.rkey  K.keyrun
  K.since  hash  id -> when it became pending again (aging counts its wait from now)
  Dependants (settleDependants): K.waiting  K.deps  K.dependants  K.delayed  K.dprio  K.seq

  ARGV[1] wake channel
  ARGV[2] done channel (ids cancelled here, newline-joined, for waiters)
  ARGV[3..] pairs: id, token

  Returns the number of jobs released to pending.
]]
--@include nowMs
--@include splitLease
--@include histEntry
--@include leaseLevel
--@include appendHistory
--@include config
--@include finishConfig
--@include toCancelled
--@include settleDependants
--@include releaseKeySlots
--@include eventsOn
--@include publishEvents
--@include uses

local now = nowMs()
local cfg = readConfig(K.config, FINISH_CONFIG)
local released = 0
-- Whether a job went back to pending: it has a since entry, maybe an att one (see uses).
local marks = false
local cancelledIds = {}
local events = eventsOn(K.jobs)
local evs = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local v = redis.call('HGET', K.lease, id)
  if v then
    local token, worker, attempt, start, pscore = splitLease(v)
    if token == ARGV[i + 1] then
      redis.call('ZREM', K.running, id)
      redis.call('HDEL', K.lease, id)
      releaseKeySlots(K, { id })
      if redis.call('SISMEMBER', K.cancelreq, id) == 1 then
        appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'cancelled', 'Cancelled', '',
          leaseLevel(pscore)))
        if events then
          local rec = redis.call('HGET', K.jobs, id)
          evs[#evs + 1] = { type = 'cancelled', id = id, attempt = tonumber(attempt),
            name = rec and recordMeta(rec).n or false }
        end
        settleDependants(K, { id }, 'cancelled', now, cfg, evs)
        toCancelled(K, id, now, cfg)
        cancelledIds[#cancelledIds + 1] = id
      else
        if attempt > 1 then
          redis.call('HSET', K.att, id, attempt - 1)
        else
          redis.call('HDEL', K.att, id)
        end
        redis.call('ZADD', K.pending, pscore, id)
        marks = true
        redis.call('HSET', K.since, id, now)
        released = released + 1
      end
    end
  end
end
if marks then
  local u = addUse(K.config, redis.call('HGET', K.config, USES) or nil, 's')
  addUse(K.config, u, 'a')
end
if released > 0 then redis.call('PUBLISH', ARGV[1], '1') end
if #cancelledIds > 0 then redis.call('PUBLISH', ARGV[2], table.concat(cancelledIds, '\n')) end
publishEvents(events, K.jobs, now, evs)
return released

--[[
  recover: returns jobs whose lease expired (their worker died or stalled) to the queue.

  A recovered job becomes due after a random delay of up to half a lease, so the jobs a
  crashed worker held together are not claimed together again: one poison job that kills
  its process then takes fewer innocent neighbours down with it each time.

  Guarantee: judged by the Redis server's clock; the expired attempt counts and is
  recorded in the history with reason LeaseExpired; a job out of attempts goes to the
  dead letters with reason LeaseExpired. At most ARGV[2] jobs per call, so any number
  of workers may run it concurrently at any interval.

  Stall guard: if no recover call ran for longer than ARGV[3] ms (Redis was stopped, or
  every worker was down), nothing is recovered for one lease period (the queue's
  lease_ms): live holders first get the chance to heartbeat, so a paused Redis does
  not cause a mass redelivery of jobs that are still running.

  Keys: K.running  K.lease  K.att  K.hist  K.jobs  K.delayed  K.dead  K.reason  K.dedupe
  K.dk  K.config  K.cancelreq  K.cancelled  K.result
    K.recovery  hash  at -> last recover call ms, grace -> recover nothing before
    K.dprio     hash  id -> priority (delayed jobs)
  K.progress  K.rkey  K.keyrun
  Dependants (settleDependants): K.waiting  K.deps  K.dependants  K.pending  K.seq  K.since

  ARGV[1] wake channel
  ARGV[2] max jobs per call
  ARGV[3] stall threshold ms
  ARGV[4] random seed (an integer from the caller; Lua's own PRNG is not random here)
  ARGV[5] done channel (ids that ended dead or cancelled, newline-joined, for waiters)
  ARGV[6] optional: a worker disowning the leases of claims whose replies it never got
  ARGV[7] the highest lease token that worker received from this queue
  ARGV[8] Redis-clock ms when the lost claim was sent: leases that end or began earlier
          are older (another process under the same worker name, say)

  Disowning (a call with ARGV[6] only disowns: it recovers nothing and leaves the stall
  guard's clock alone, so a partition's end still gets its grace period): every lease of ARGV[6]
  with a token above ARGV[7] comes from a claim whose reply the worker never got (its
  claims are sequential, tokens only grow), so it never started that job: the job becomes
  due again now at its priority, with no attempt charged and no history entry.

  Returns {requeued, dead, cancelled}; a disowning call {0, 0, 0, disowned}.
]]
--@include prioSpan
--@include nowMs
--@include fmt
--@include splitLease
--@include recordMeta
--@include safePriority
--@include histEntry
--@include leaseLevel
--@include appendHistory
--@include config
--@include toCancelled
--@include settleDependants
--@include toDead
--@include releaseKeySlots
--@include eventsOn
--@include publishEvents
--@include uses

local now = nowMs()
if ARGV[6] then
  local disowned = 0
  local maxToken, since = tonumber(ARGV[7]), ARGV[8]
  local ids = redis.call('ZRANGEBYSCORE', K.running, since, '+inf')
  for from = 1, #ids, 1000 do
    local chunk = { unpack(ids, from, math.min(from + 999, #ids)) }
    local vals = redis.call('HMGET', K.lease, unpack(chunk))
    for i, id in ipairs(chunk) do
      if vals[i] then
        local token, worker, _, start, pscore = splitLease(vals[i])
        if worker == ARGV[6] and tonumber(token) and tonumber(token) > maxToken
          and start and start >= tonumber(since) then
          redis.call('ZREM', K.running, id)
          redis.call('HDEL', K.lease, id)
          releaseKeySlots(K, { id })
          if redis.call('SISMEMBER', K.cancelreq, id) == 1 then
            toCancelled(K, id, now, readConfig(K.config, { 'result_ttl_ms', 'keep_completed',
              'dead_ttl_ms', 'keep_dead' }))
            redis.call('PUBLISH', ARGV[5], id)
          else
            redis.call('ZADD', K.delayed, fmt(now), id)
            redis.call('HSET', K.dprio, id, safePriority(math.floor((tonumber(pscore) or 0) / PRIO_SPAN)))
          end
          disowned = disowned + 1
        end
      end
    end
  end
  if disowned > 0 then redis.call('PUBLISH', ARGV[1], '1') end
  return { 0, 0, 0, disowned }
end
local last = tonumber(redis.call('HGET', K.recovery, 'at'))
redis.call('HSET', K.recovery, 'at', now)
if last and now - last > tonumber(ARGV[3]) then
  local lease = readConfig(K.config, { 'lease_ms' }).lease_ms
  redis.call('HSET', K.recovery, 'grace', now + lease)
  return { 0, 0, 0 }
end
local grace = tonumber(redis.call('HGET', K.recovery, 'grace'))
if grace and now < grace then return { 0, 0, 0 } end
local expired = redis.call('ZRANGEBYSCORE', K.running, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
if #expired == 0 then return { 0, 0, 0 } end
releaseKeySlots(K, expired)

local cfg = readConfig(K.config, { 'result_ttl_ms', 'keep_completed', 'dead_ttl_ms',
  'keep_dead', 'max_attempts', 'lease_ms', USES, WATCH })
local spread = math.max(1, math.floor(cfg.lease_ms / 2))
local seed = tonumber(ARGV[4]) % 2147483646 + 1
local requeued, dead, cancelled = 0, 0, 0
local final = {}
local events = eventsOn(K.jobs, cfg[WATCH] or 0, now)
local evs = {}
for _, id in ipairs(expired) do
  local v = redis.call('HGET', K.lease, id)
  redis.call('ZREM', K.running, id)
  redis.call('HDEL', K.lease, id)
  local rec = redis.call('HGET', K.jobs, id)
  local _, worker, attempt, start, pscore = nil, nil, nil, nil, nil
  if v then _, worker, attempt, start, pscore = splitLease(v) end
  local function tell(kind)
    if events then
      evs[#evs + 1] = { type = kind, id = id, attempt = tonumber(attempt) or false,
        reason = 'LeaseExpired', name = rec and recordMeta(rec).n or false }
    end
  end
  if rec and not attempt then
    -- A lease that is missing or unreadable (written by hand): never drop the job.
    tell('dead')
    settleDependants(K, { id }, 'dead', now, cfg, evs)
    toDead(K, id, now, 'LeaseCorrupt', cfg)
    dead = dead + 1
    final[#final + 1] = id
  elseif rec then
    local err = 'lease expired: worker ' .. worker .. ' stopped renewing it'
    local meta = recordMeta(rec)
    local maxAttempts = tonumber(meta.ma) or cfg.max_attempts
    if redis.call('SISMEMBER', K.cancelreq, id) == 1 then
      appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'cancelled', 'LeaseExpired', err,
        leaseLevel(pscore)))
      tell('cancelled')
      settleDependants(K, { id }, 'cancelled', now, cfg, evs)
      toCancelled(K, id, now, cfg)
      cancelled = cancelled + 1
      final[#final + 1] = id
    elseif attempt >= maxAttempts then
      appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'dead', 'LeaseExpired', err,
        leaseLevel(pscore)))
      tell('dead')
      settleDependants(K, { id }, 'dead', now, cfg, evs)
      toDead(K, id, now, 'LeaseExpired', cfg)
      dead = dead + 1
      final[#final + 1] = id
    else
      appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'failed', 'LeaseExpired', err,
        leaseLevel(pscore)))
      redis.call('HSET', K.att, id, attempt)
      cfg[USES] = addUse(K.config, cfg[USES], 'a')
      seed = (seed * 48271) % 2147483647  -- MINSTD: exact in a double
      redis.call('ZADD', K.delayed, fmt(now + seed % spread), id)
      redis.call('HSET', K.dprio, id, safePriority(math.floor((tonumber(pscore) or 0) / PRIO_SPAN)))
      tell('failed')
      requeued = requeued + 1
    end
  end
end
if requeued > 0 then redis.call('PUBLISH', ARGV[1], '1') end
publishEvents(events, K.jobs, now, evs)
if #final > 0 then redis.call('PUBLISH', ARGV[5], table.concat(final, '\n')) end
return { requeued, dead, cancelled }

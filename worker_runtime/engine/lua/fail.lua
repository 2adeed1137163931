--[[
  fail: records the failure of one running job; retries it after a back-off, or moves it
  to the dead letters when it may not be retried.

  Guarantee: accepted only from the holder of the current lease (fencing token). The
  attempt is recorded in the job's history in the same step. Back-off:
  min(base * 2^(attempt-1), max), less up to 20% jitter, unless the handler asked for
  an explicit delay. Dead when the failure is permanent or attempts are exhausted.

  Keys: K.running  K.lease  K.att  K.hist  K.jobs  K.delayed  K.dprio  K.dead  K.reason
  K.dedupe  K.dk  K.config  K.cancelreq  K.cancelled  K.result  K.progress  K.rkey
  K.keyrun
  Dependants (settleDependants): K.waiting  K.deps  K.dependants  K.pending  K.seq  K.since

  ARGV[1] wake channel
  ARGV[2] id            ARGV[3] token
  ARGV[4] reason (CamelCase, e.g. Error, Timeout, NoHandler)
  ARGV[5] error text (already truncated by the caller)
  ARGV[6] mode: "retry" or "permanent"
  ARGV[7] retry delay ms (-1: the queue's back-off)
  ARGV[8] jitter draw in [0, 1)
  ARGV[9] done channel (the id, when the job ends dead or cancelled, for waiters)

  Returns {1, due_ms} retry scheduled, {2, reason} dead, {-1} lease lost,
  {-2} cancelled while running.
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

local id, reason = ARGV[2], ARGV[4]
local now = nowMs()

local v = redis.call('HGET', K.lease, id)
if not v then return { -1 } end
local token, worker, attempt, start, pscore = splitLease(v)
if token ~= ARGV[3] then return { -1 } end

local cfg = readConfig(K.config, { 'result_ttl_ms', 'keep_completed', 'dead_ttl_ms',
  'keep_dead', 'max_attempts', 'backoff_base_ms', 'backoff_max_ms', USES, WATCH })
redis.call('ZREM', K.running, id)
redis.call('HDEL', K.lease, id)
releaseKeySlots(K, { id })
local events = eventsOn(K.jobs, cfg[WATCH] or 0, now)
-- The job's event, then (dead, cancelled) what its dependants did, as one message;
-- before the terminal move, which may trim the record, name included.
local function tell(kind, extra)
  local evs = {}
  if events then
    local e = { type = kind, id = id, attempt = tonumber(attempt), reason = reason }
    for k2, v2 in pairs(extra or {}) do e[k2] = v2 end
    evs[1] = e
  end
  if kind ~= 'failed' then settleDependants(K, { id }, kind, now, cfg, evs) end
  publishEvents(events, K.jobs, now, evs)
end

if redis.call('SISMEMBER', K.cancelreq, id) == 1 then
  appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'cancelled', reason, ARGV[5],
    leaseLevel(pscore)))
  tell('cancelled')
  toCancelled(K, id, now, cfg)
  redis.call('PUBLISH', ARGV[9], id)
  return { -2 }
end

local rec = redis.call('HGET', K.jobs, id)
local meta = rec and recordMeta(rec) or {}
local maxAttempts = tonumber(meta.ma) or cfg.max_attempts
if ARGV[6] == 'permanent' or attempt >= maxAttempts or not rec then
  appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'dead', reason, ARGV[5],
    leaseLevel(pscore)))
  tell('dead')
  toDead(K, id, now, reason, cfg)
  redis.call('PUBLISH', ARGV[9], id)
  return { 2, reason }
end

appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'failed', reason, ARGV[5],
    leaseLevel(pscore)))
local delay = tonumber(ARGV[7])
if delay < 0 then
  local base, cap = cfg.backoff_base_ms, cfg.backoff_max_ms
  delay = math.min(base * math.pow(2, attempt - 1), cap)
  delay = math.floor(delay - delay * 0.2 * tonumber(ARGV[8]))
end
local due = now + delay
redis.call('HSET', K.att, id, attempt)
addUse(K.config, cfg[USES], 'a')
redis.call('ZADD', K.delayed, fmt(due), id)
redis.call('HSET', K.dprio, id, safePriority(math.floor((tonumber(pscore) or 0) / PRIO_SPAN)))
redis.call('PUBLISH', ARGV[1], '1')
tell('failed', { due = due })
return { 1, fmt(due) }

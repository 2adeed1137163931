--[[
  claim: leases up to N due jobs to one worker, applying the queue's policies.

  Guarantee: a job leaves `pending` only in the same script that records its lease
  (deadline in `running`, token and attempt in `lease`), so no crash can strand it.
  Due delayed jobs are promoted first (at most ARGV[4] per call). Policies, all atomic
  across every worker:
  - aging (at most once a second): jobs that waited too long move up a level; a job's wait
    counts from when it last became pending (enqueued, due, retried, released);
  - fairness: strict (lowest level first) or weighted (stride scheduling over levels);
    FIFO within a level either way;
  - max_running caps the jobs of this queue running at once;
  - rate limit (GCRA) per queue, or a named limiter shared by several queues;
  - per rate_key: a key over its rate waits in `delayed` until its next slot (no
    attempt charged); a key at its running cap is skipped and stays pending.

  Keys: K.pending  K.delayed  K.dprio  K.running  K.lease  K.jobs  K.att  K.seq  K.config
    K.policy   hash  pass:<level> (fairness state)
    (K.config's field ~aged_at: when aging last ran, read with the config at no extra cost)
    K.limiter  zset  start log of the rate limit (the queue's own, or a named one's)
    K.keyrate  hash  rate_key -> tat
    K.keyrun   hash  rate_key -> running count
    K.rkey     hash  running id -> rate_key
    K.since    hash  id -> when a pending job became pending, if not at its enqueue
    K.shared_limiter  hash  limit, period of the named limiter the queue's rate_limiter
                      names (optional: absent when the queue has none)

  ARGV[1] worker name
  ARGV[2] max jobs to claim (at most 1,000 are claimed per call)
  ARGV[3] lease ms (-1: the queue's lease_ms)
  ARGV[4] max delayed jobs to promote
  ARGV[5] not after: Redis-clock ms after which the caller no longer waits for the reply
          (-1: no limit). A claim that arrives later (a command the kernel delivered once a
          partition healed) changes nothing: no lease, no attempt charged.

  Returns {status, lease_ms, now, id, token, attempt, record, waited ms, ...}: status -2
  when the queue is paused, -3 when the claim came after ARGV[5], otherwise the ms after
  which more may be claimable (next delayed job due, next rate slot; -1: nothing known).
  `now` is the Redis clock, from which the caller learns its offset for ARGV[5]. A job has
  waited since it became due: its `since` entry (run_at, retry time, release), else its
  enqueue.
]]
--@include prioSpan
--@include nowMs
--@include fmt
--@include safePriority
--@include metaLine
--@include config
--@include parseWeights
--@include parseAgingRules
--@include ageJobs
--@include nonEmptyBands
--@include weightedTake
--@include windowAllowance
--@include windowCharge
--@include gcraAllowance
--@include gcraCharge
--@include eventsOn
--@include publishEvents
--@include uses

local now = nowMs()
local cfg = readConfig(K.config, { 'paused', 'lease_ms', 'fairness', 'weights', 'aging',
  'aging_rules', 'max_running', 'rate_limit', 'rate_period_ms', 'key_rate_limit',
  'key_rate_period_ms', 'key_max_running', USES, WATCH, '~aged_at' })
local leaseMs = tonumber(ARGV[3])
if leaseMs < 0 then leaseMs = cfg.lease_ms end
local notAfter = tonumber(ARGV[5]) or -1
if notAfter >= 0 and now > notAfter then return { -3, leaseMs, now } end
if cfg.paused == '1' then return { -2, leaseMs, now } end

local wait = -1
local function soonest(ms)
  if ms >= 0 and (wait < 0 or ms < wait) then wait = ms end
end

-- The head of `delayed` first: most calls find nothing due, and that one read also gives
-- the wait until the next job is due (read again below only when jobs were promoted).
local head = redis.call('ZRANGE', K.delayed, 0, 0, 'WITHSCORES')
if #head > 0 and tonumber(head[2]) <= now then
  local dueAt = redis.call('ZRANGEBYSCORE', K.delayed, '-inf', now, 'WITHSCORES', 'LIMIT', 0,
    tonumber(ARGV[4]))
  local due, since = {}, {}
  for i = 1, #dueAt, 2 do
    due[#due + 1] = dueAt[i]
    since[#since + 1] = dueAt[i]
    since[#since + 1] = fmt(math.max(0, tonumber(dueAt[i + 1]) or now))  -- waiting since due
  end
  local prios = redis.call('HMGET', K.dprio, unpack(due))
  local base = redis.call('INCRBY', K.seq, #due) - #due
  local args = {}
  for i, id in ipairs(due) do
    args[#args + 1] = fmt(safePriority(prios[i]) * PRIO_SPAN + base + i)
    args[#args + 1] = id
  end
  redis.call('ZADD', K.pending, unpack(args))
  redis.call('ZREM', K.delayed, unpack(due))
  redis.call('HDEL', K.dprio, unpack(due))
  redis.call('HSET', K.since, unpack(since))
  cfg[USES] = addUse(K.config, cfg[USES], 's')
  head = redis.call('ZRANGE', K.delayed, 0, 0, 'WITHSCORES')
end
if #head > 0 then soonest(math.max(0, tonumber(head[2]) - now)) end

if cfg.aging ~= '0' then
  local last = tonumber(cfg['~aged_at']) or 0
  if now - last >= 1000 then
    redis.call('HSET', K.config, '~aged_at', now)
    ageJobs(K.pending, K.jobs, K.since, parseAgingRules(cfg.aging_rules), now, 100)
  end
end

-- Capped: Lua cannot unpack much more than 8,000 values, and an error after the first
-- write would leave jobs neither pending nor running.
local want = math.min(tonumber(ARGV[2]), 1000)
local maxRunning = cfg.max_running
if maxRunning then want = math.min(want, maxRunning - redis.call('ZCARD', K.running)) end
local rateLimit, ratePeriod = cfg.rate_limit, cfg.rate_period_ms
if not rateLimit and K.shared_limiter then
  local shared = redis.call('HMGET', K.shared_limiter, 'limit', 'period')
  rateLimit, ratePeriod = tonumber(shared[1]), tonumber(shared[2]) or 1000
end
if rateLimit and want > 0 then
  local allowed, retry = windowAllowance(K.limiter, now, rateLimit, ratePeriod, want)
  want = allowed
  if allowed == 0 then soonest(retry) end
end

-- Candidates, in the order the fairness policy gives them (ids and pending scores), then
-- the chosen ones with their records and rate keys, as parallel lists: no table per job.
local ids, scores, recs, rks = {}, {}, {}, {}
if want > 0 then
  local keyLimit, keyCap = cfg.key_rate_limit, cfg.key_max_running
  local perKey = keyLimit or keyCap
  local scan = want
  if perKey then scan = want * 4 + 16 end
  local candIds, candScores = {}, {}
  local function collect(got)
    for i = 1, #got, 2 do
      candIds[#candIds + 1] = got[i]
      candScores[#candScores + 1] = got[i + 1]
    end
  end
  if cfg.fairness == 'weighted' then
    local take = weightedTake(K.policy, nonEmptyBands(K.pending), parseWeights(cfg.weights), scan)
    for p = 0, 10 do
      if take[p] and take[p] > 0 then
        collect(redis.call('ZRANGEBYSCORE', K.pending, fmt(p * PRIO_SPAN),
          '(' .. fmt((p + 1) * PRIO_SPAN), 'WITHSCORES', 'LIMIT', 0, take[p]))
      end
    end
  else
    collect(redis.call('ZRANGE', K.pending, 0, scan - 1, 'WITHSCORES'))
  end

  if #candIds > 0 then
    local found = redis.call('HMGET', K.jobs, unpack(candIds))
    local deferred = {}
    local keyPeriod = cfg.key_rate_period_ms
    local running = {}
    for i, id in ipairs(candIds) do
      if #ids >= want then break end
      local rec = found[i]
      -- HMGET gives false, not nil, for an id without a record: never hand that out.
      if not rec then
        redis.call('ZREM', K.pending, id)
      else
        local ok, rk = true, nil
        if perKey then rk = string.match(metaLine(rec), '"rk":"([^"]*)"') end
        if rk then
          if keyCap then
            if running[rk] == nil then running[rk] = tonumber(redis.call('HGET', K.keyrun, rk)) or 0 end
            if running[rk] >= keyCap then ok = false end
          end
          if ok and keyLimit then
            local n, retry = gcraAllowance(K.keyrate, rk, now, keyLimit, keyPeriod, 1)
            if n == 0 then
              ok = false
              deferred[#deferred + 1] = { id, candScores[i], now + retry }
            else
              gcraCharge(K.keyrate, rk, now, keyLimit, keyPeriod, 1, false)
            end
          end
          if ok then running[rk] = (running[rk] or 0) + 1 end
        end
        if ok then
          local n = #ids + 1
          ids[n], scores[n], recs[n], rks[n] = id, candScores[i], rec, rk
        end
      end
    end
    -- Jobs over their key's rate wait in `delayed` for its next slot: not an attempt.
    for _, d in ipairs(deferred) do
      redis.call('ZREM', K.pending, d[1])
      redis.call('ZADD', K.delayed, fmt(d[3]), d[1])
      redis.call('HSET', K.dprio, d[1], math.floor(tonumber(d[2]) / PRIO_SPAN))
      redis.call('HDEL', K.since, d[1])  -- set again when it is due
      soonest(d[3] - now)
    end
  end
end

local out = { -1, leaseMs, now }
local n = #ids
if n > 0 then
  redis.call('ZREM', K.pending, unpack(ids))
  -- Neither read on a queue that never held such entries (see uses).
  local dueSince = mayHave(cfg[USES], 's') and redis.call('HMGET', K.since, unpack(ids)) or {}
  local atts = mayHave(cfg[USES], 'a') and redis.call('HMGET', K.att, unpack(ids)) or {}
  local tok = redis.call('INCRBY', K.seq, n) - n
  local deadline = fmt(now + leaseMs)
  local worker = '|' .. ARGV[1] .. '|'
  local started = '|' .. fmt(now) .. '|'
  local runArgs, leaseArgs, hadSince = {}, {}, {}
  local o = 3
  for i = 1, n do
    local id = ids[i]
    local attempt = (tonumber(atts[i]) or 0) + 1
    local token = fmt(tok + i)
    runArgs[2 * i - 1] = deadline
    runArgs[2 * i] = id
    leaseArgs[2 * i - 1] = id
    leaseArgs[2 * i] = token .. worker .. attempt .. started .. scores[i]
    local rk = rks[i]
    if rk then
      cfg[USES] = addUse(K.config, cfg[USES], 'k')
      redis.call('HSET', K.rkey, id, rk)
      redis.call('HINCRBY', K.keyrun, rk, 1)
    end
    local since = dueSince[i]
    if since then hadSince[#hadSince + 1] = id end
    local dueMs = tonumber(since) or tonumber(string.match(recs[i], '^(%d+)')) or now
    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] =
      id, token, attempt, recs[i], now - dueMs
    o = o + 5
  end
  -- Most jobs became pending at their enqueue and have no entry: no HDEL for them.
  if #hadSince > 0 then redis.call('HDEL', K.since, unpack(hadSince)) end
  redis.call('ZADD', K.running, unpack(runArgs))
  redis.call('HSET', K.lease, unpack(leaseArgs))
  if rateLimit then
    local members = {}
    for i = 1, n do members[i] = ids[i] .. ':' .. fmt(tok + i) end
    windowCharge(K.limiter, now, ratePeriod, members)
  end
end

local events = #out > 3 and eventsOn(K.jobs, cfg[WATCH] or 0, now)
if events then
  local started = {}
  for i = 4, #out, 5 do
    started[#started + 1] = { type = 'started', id = out[i], attempt = out[i + 2] }
  end
  publishEvents(events, K.jobs, now, started)
end

out[1] = wait
return out

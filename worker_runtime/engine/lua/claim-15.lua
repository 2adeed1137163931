--[[
  claim: leases up to N due jobs to one worker, applying the queue's policies.

  Guarantee: a job leaves `pending` only in the same script that records its lease
  (deadline in `running`, token and attempt in `lease`), so no crash can strand it.
  Due delayed jobs are promoted first (at most ARGV[4] per call). Policies, all atomic
  across every worker:
  - aging (at most once a second): jobs that waited too long move up a level;
  - fairness: strict (lowest level first) or weighted (stride scheduling over levels);
    FIFO within a level either way;
  - max_running caps the jobs of this queue running at once;
  - rate limit (GCRA) per queue, or a named limiter shared by several queues;
  - per rate_key: a key over its rate waits in `delayed` until its next slot (no
    attempt charged); a key at its running cap is skipped and stays pending.

  KEYS[1] pending  KEYS[2] delayed  KEYS[3] dprio  KEYS[4] running  KEYS[5] lease
  KEYS[6] jobs  KEYS[7] att  KEYS[8] seq  KEYS[9] config
  KEYS[10] policy   hash  aged_at, pass:<level> (fairness state)
  KEYS[11] limiter  zset  start log of the rate limit (the queue's own, or a named one's)
  KEYS[15] limiter definition hash: limit, period of a named limiter (unused otherwise)
  KEYS[12] keyrate  hash  rate_key -> tat
  KEYS[13] keyrun   hash  rate_key -> running count
  KEYS[14] rkey     hash  running id -> rate_key

  ARGV[1] worker name
  ARGV[2] max jobs to claim (at most 1,000 are claimed per call)
  ARGV[3] lease ms (-1: the queue's lease_ms)
  ARGV[4] max delayed jobs to promote

  Returns {status, lease_ms, id, token, attempt, record, ...}: status -2 when the queue is
  paused, otherwise the ms after which more may be claimable (next delayed job due, next
  rate slot; -1: nothing known).
]]
--@include common
--@include policy

local now = nowMs()
local cfg = redis.call('HMGET', KEYS[9], 'paused', 'lease_ms', 'fairness', 'weights', 'aging',
  'aging_rules', 'max_running', 'rate_limit', 'rate_period_ms', 'key_rate_limit',
  'key_rate_period_ms', 'key_max_running')
local leaseMs = tonumber(ARGV[3])
if leaseMs < 0 then leaseMs = configNumber(cfg, 2, 30000) end
if cfg[1] == '1' then return { -2, leaseMs } end

local wait = -1
local function soonest(ms)
  if ms >= 0 and (wait < 0 or ms < wait) then wait = ms end
end

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
if #due > 0 then
  local prios = redis.call('HMGET', KEYS[3], unpack(due))
  local base = redis.call('INCRBY', KEYS[8], #due) - #due
  local args = {}
  for i, id in ipairs(due) do
    args[#args + 1] = fmt(safePriority(prios[i]) * PRIO_SPAN + base + i)
    args[#args + 1] = id
  end
  redis.call('ZADD', KEYS[1], unpack(args))
  redis.call('ZREM', KEYS[2], unpack(due))
  redis.call('HDEL', KEYS[3], unpack(due))
end

if cfg[5] ~= '0' then
  local last = tonumber(redis.call('HGET', KEYS[10], 'aged_at')) or 0
  if now - last >= 1000 then
    redis.call('HSET', KEYS[10], 'aged_at', now)
    ageJobs(KEYS[1], KEYS[6], parseAgingRules(cfg[6]), now, 100)
  end
end

-- Capped: Lua cannot unpack much more than 8,000 values, and an error after the first
-- write would leave jobs neither pending nor running.
local want = math.min(tonumber(ARGV[2]), 1000)
local maxRunning = tonumber(cfg[7])
if maxRunning then want = math.min(want, maxRunning - redis.call('ZCARD', KEYS[4])) end
local rateLimit, ratePeriod = tonumber(cfg[8]), configNumber(cfg, 9, 1000)
if not rateLimit and KEYS[15] ~= KEYS[10] then
  local shared = redis.call('HMGET', KEYS[15], 'limit', 'period')
  rateLimit, ratePeriod = tonumber(shared[1]), tonumber(shared[2]) or 1000
end
if rateLimit and want > 0 then
  local allowed, retry = windowAllowance(KEYS[11], now, rateLimit, ratePeriod, want)
  want = allowed
  if allowed == 0 then soonest(retry) end
end

-- Candidates, in the order the fairness policy gives them.
local cand = {}
if want > 0 then
  local keyLimit, keyCap = tonumber(cfg[10]), tonumber(cfg[12])
  local scan = want
  if keyLimit or keyCap then scan = want * 4 + 16 end
  if cfg[3] == 'weighted' then
    local take = weightedTake(KEYS[10], nonEmptyBands(KEYS[1]), parsePairs(cfg[4], DEFAULT_WEIGHTS), scan)
    for p = 0, 10 do
      if take[p] and take[p] > 0 then
        local got = redis.call('ZRANGEBYSCORE', KEYS[1], fmt(p * PRIO_SPAN),
          '(' .. fmt((p + 1) * PRIO_SPAN), 'WITHSCORES', 'LIMIT', 0, take[p])
        for i = 1, #got, 2 do cand[#cand + 1] = { got[i], got[i + 1] } end
      end
    end
  else
    local got = redis.call('ZRANGE', KEYS[1], 0, scan - 1, 'WITHSCORES')
    for i = 1, #got, 2 do cand[#cand + 1] = { got[i], got[i + 1] } end
  end

  if #cand > 0 then
    local ids = {}
    for i, c in ipairs(cand) do ids[i] = c[1] end
    local recs = redis.call('HMGET', KEYS[6], unpack(ids))
    local chosen, keyOf, deferred = {}, {}, {}
    local keyPeriod = configNumber(cfg, 11, 1000)
    local running = {}
    for i, c in ipairs(cand) do
      if #chosen >= want then break end
      local rec = recs[i]
      -- HMGET gives false, not nil, for an id without a record: never hand that out.
      local rk = rec and (keyLimit or keyCap) and string.match(metaLine(rec), '"rk":"([^"]*)"')
        or nil
      local ok = rec and true or false
      if not rec then redis.call('ZREM', KEYS[1], c[1]) end
      if ok and rk then
        if keyCap then
          if running[rk] == nil then running[rk] = tonumber(redis.call('HGET', KEYS[13], rk)) or 0 end
          if running[rk] >= keyCap then ok = false end
        end
        if ok and keyLimit then
          local n, retry = gcraAllowance(KEYS[12], rk, now, keyLimit, keyPeriod, 1)
          if n == 0 then
            ok = false
            deferred[#deferred + 1] = { c[1], c[2], now + retry }
          else
            gcraCharge(KEYS[12], rk, now, keyLimit, keyPeriod, 1, false)
          end
        end
        if ok then running[rk] = (running[rk] or 0) + 1 end
      end
      if ok then
        chosen[#chosen + 1] = { c[1], c[2], rec, rk }
      end
    end
    -- Jobs over their key's rate wait in `delayed` for its next slot: not an attempt.
    for _, d in ipairs(deferred) do
      redis.call('ZREM', KEYS[1], d[1])
      redis.call('ZADD', KEYS[2], fmt(d[3]), d[1])
      redis.call('HSET', KEYS[3], d[1], math.floor(tonumber(d[2]) / PRIO_SPAN))
      soonest(d[3] - now)
    end
    cand = chosen
  end
end

local out = { -1, leaseMs }
if #cand > 0 then
  local ids = {}
  for i, c in ipairs(cand) do ids[i] = c[1] end
  redis.call('ZREM', KEYS[1], unpack(ids))
  local atts = redis.call('HMGET', KEYS[7], unpack(ids))
  local tok = redis.call('INCRBY', KEYS[8], #ids) - #ids
  local deadline = fmt(now + leaseMs)
  local runArgs, leaseArgs = {}, {}
  for i, c in ipairs(cand) do
    local id = c[1]
    local attempt = (tonumber(atts[i]) or 0) + 1
    local token = tok + i
    runArgs[#runArgs + 1] = deadline
    runArgs[#runArgs + 1] = id
    leaseArgs[#leaseArgs + 1] = id
    leaseArgs[#leaseArgs + 1] = fmt(token) .. '|' .. ARGV[1] .. '|' .. attempt .. '|' .. fmt(now)
      .. '|' .. c[2]
    if c[4] then
      redis.call('HSET', KEYS[14], id, c[4])
      redis.call('HINCRBY', KEYS[13], c[4], 1)
    end
    out[#out + 1] = id
    out[#out + 1] = fmt(token)
    out[#out + 1] = attempt
    out[#out + 1] = c[3]
  end
  redis.call('ZADD', KEYS[4], unpack(runArgs))
  redis.call('HSET', KEYS[5], unpack(leaseArgs))
  if rateLimit then
    local members = {}
    for i, c in ipairs(cand) do members[i] = c[1] .. ':' .. fmt(tok + i) end
    windowCharge(KEYS[11], now, ratePeriod, members)
  end
end

local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head > 0 then soonest(math.max(0, tonumber(head[2]) - now)) end
out[1] = wait
return out

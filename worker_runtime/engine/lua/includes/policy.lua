-- Claim policies: aging, weighted fairness (stride scheduling), GCRA rate limits and
-- per-key running slots. Expects common.lua before it.

local function parsePairs(text, default)
  local out = {}
  if not text or text == '' then return default end
  for a, b in string.gmatch(text, '([^,:]+):([^,]+)') do out[tonumber(a)] = tonumber(b) end
  return out
end

local DEFAULT_WEIGHTS = { [0] = 10, [1] = 5, [5] = 2, [8] = 1, [10] = 0.5 }

local function parseAgingRules(text)
  if not text then text = '8:5:1800000,5:1:900000,1:0:300000' end
  local rules = {}
  for a, b, c in string.gmatch(text, '(%d+):(%d+):(%d+)') do
    rules[tonumber(a)] = { to = tonumber(b), after = tonumber(c) }
  end
  return rules
end

-- The level a job of original priority p reaches after waiting w ms: each rule's wait
-- counts from the previous promotion, so LOW reaches HIGH only after 30 + 15 minutes.
local function agedLevel(rules, p, w)
  local level, spent, steps = p, 0, 0
  while rules[level] and steps < 11 do
    local r = rules[level]
    if w < spent + r.after then break end
    spent = spent + r.after
    level = r.to
    steps = steps + 1
  end
  return level
end

-- Promotes the oldest jobs of each band that waited long enough, at most `bound` per band.
local function ageJobs(pendingKey, jobsKey, rules, now, bound)
  local moved = 0
  for from, _ in pairs(rules) do
    local head = redis.call('ZRANGEBYSCORE', pendingKey, fmt(from * PRIO_SPAN),
      '(' .. fmt((from + 1) * PRIO_SPAN), 'WITHSCORES', 'LIMIT', 0, bound)
    if #head > 0 then
      local ids = {}
      for i = 1, #head, 2 do ids[#ids + 1] = head[i] end
      local recs = redis.call('HMGET', jobsKey, unpack(ids))
      for i, id in ipairs(ids) do
        local rec = recs[i]
        if not rec then break end
        local enq = tonumber(string.match(rec, '^(%d+)')) or now
        local orig = safePriority(string.match(metaLine(rec), '"p":(%d+)') or from)
        local target = agedLevel(rules, orig, now - enq)
        if target >= from then break end  -- FIFO: younger jobs follow
        local seq = tonumber(head[i * 2]) - from * PRIO_SPAN
        redis.call('ZADD', pendingKey, fmt(target * PRIO_SPAN + seq), id)
        moved = moved + 1
      end
    end
  end
  return moved
end

-- Non-empty priority bands of the pending set, as {level, count} in priority order.
local function nonEmptyBands(pendingKey)
  local bands, lo = {}, 0
  while lo <= 10 do
    local head = redis.call('ZRANGEBYSCORE', pendingKey, fmt(lo * PRIO_SPAN), '+inf',
      'WITHSCORES', 'LIMIT', 0, 1)
    if #head == 0 then break end
    local p = math.floor(tonumber(head[2]) / PRIO_SPAN)
    local n = redis.call('ZCOUNT', pendingKey, fmt(p * PRIO_SPAN), '(' .. fmt((p + 1) * PRIO_SPAN))
    bands[#bands + 1] = { p, n }
    lo = p + 1
  end
  return bands
end

-- Stride scheduling: each band's pass grows by 1/weight per job it gets; the band with
-- the lowest pass goes next. Passes persist in the policy hash, so shares hold across
-- calls of any size; a band that was empty rejoins at the current minimum, never with
-- a backlog of credit.
local function weightedTake(policyKey, bands, weights, want)
  -- Nothing pending: HMGET with no fields is an error ("wrong number of args").
  if #bands == 0 then return {} end
  local passes, minPass = {}, nil
  local fields = {}
  for _, b in ipairs(bands) do fields[#fields + 1] = 'pass:' .. b[1] end
  local stored = redis.call('HMGET', policyKey, unpack(fields))
  for i, b in ipairs(bands) do
    local v = tonumber(stored[i])
    passes[b[1]] = v
    if v and (minPass == nil or v < minPass) then minPass = v end
  end
  minPass = minPass or 0
  local take, left = {}, {}
  for _, b in ipairs(bands) do
    if passes[b[1]] == nil or passes[b[1]] < minPass then passes[b[1]] = minPass end
    take[b[1]] = 0
    left[b[1]] = b[2]
  end
  for _ = 1, want do
    local best = nil
    for _, b in ipairs(bands) do
      local p = b[1]
      if left[p] > 0 and (best == nil or passes[p] < passes[best]) then best = p end
    end
    if best == nil then break end
    local w = weights[best] or 1
    if w <= 0 then w = 0.001 end
    passes[best] = passes[best] + 1 / w
    take[best] = take[best] + 1
    left[best] = left[best] - 1
  end
  local args = {}
  for _, b in ipairs(bands) do
    args[#args + 1] = 'pass:' .. b[1]
    args[#args + 1] = tostring(passes[b[1]])
  end
  redis.call('HSET', policyKey, unpack(args))
  return take
end

-- Sliding log: how many of `want` starts fit now under `limit` per `period` ms, so that
-- no window of `period` ever holds more than `limit` starts; and the ms until one fits.
local function windowAllowance(logKey, now, limit, period, want)
  redis.call('ZREMRANGEBYSCORE', logKey, '-inf', now - period)
  local used = redis.call('ZCARD', logKey)
  if used < limit then return math.min(want, limit - used), 0 end
  local oldest = redis.call('ZRANGE', logKey, 0, 0, 'WITHSCORES')
  return 0, math.max(1, tonumber(oldest[2]) + period - now)
end

local function windowCharge(logKey, now, period, members)
  if #members == 0 then return end
  local args = {}
  for _, m in ipairs(members) do
    args[#args + 1] = now
    args[#args + 1] = m
  end
  redis.call('ZADD', logKey, unpack(args))
  redis.call('PEXPIRE', logKey, period + 1000)
end

-- GCRA without burst, for per-key limits (one number per key): starts are spaced
-- period/limit apart, so any window of `period` holds at most limit + 1 of them.
local function gcraAllowance(key, field, now, limit, period, want)
  local interval = period / limit
  local tat = tonumber(redis.call('HGET', key, field)) or now
  if tat < now then tat = now end
  if tat > now then return 0, math.ceil(tat - now) end
  return 1, 0
end

-- expire: the key holds one limiter only, so it may vanish once it no longer limits.
local function gcraCharge(key, field, now, limit, period, n, expire)
  if n <= 0 then return end
  local interval = period / limit
  local tat = tonumber(redis.call('HGET', key, field)) or now
  if tat < now then tat = now end
  redis.call('HSET', key, field, tostring(tat + n * interval))
  if expire then redis.call('PEXPIRE', key, math.ceil(tat + n * interval - now + period)) end
end

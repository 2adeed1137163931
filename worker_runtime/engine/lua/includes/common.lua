-- Shared helpers, pasted into every script by the loader (--@include common).
-- Job record layout in the `jobs` hash: "<enqueued_ms>\n<meta json>\n<payload json>".
-- Lease layout in the `lease` hash: "<token>|<worker>|<attempt>|<start_ms>|<pending score>".
-- Pending score: priority * PRIO_SPAN + sequence, so equal priorities stay FIFO.
local PRIO_SPAN = 10000000000000

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- Any score Redis accepted (negative, inf) round-trips; a lease that does not parse
-- returns nils, which callers treat as unusable rather than erroring halfway.
local function splitLease(v)
  local token, worker, attempt, start, pscore =
    string.match(v, '^([^|]*)|(.*)|(%d+)|(%d+)|([^|]+)$')
  return token, worker, tonumber(attempt), tonumber(start), pscore
end

-- A record written by a foreign producer may be malformed: an error here would abort a
-- script halfway through its writes, so a bad record reads as empty options instead.
local function recordMeta(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  if not b then return {} end
  local ok, meta = pcall(cjson.decode, string.sub(rec, a + 1, b - 1))
  if ok and type(meta) == 'table' then return meta end
  return {}
end

-- A priority read from a record a foreign producer may have written: 0-10 or NORMAL.
local function safePriority(p)
  p = tonumber(p)
  if p == nil or p ~= p or p < 0 or p > 10 then return 5 end
  return math.floor(p)
end

-- The options line of a record ("" when malformed), for pattern searches that must not
-- look into the payload.
local function metaLine(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  if not b then return '' end
  return string.sub(rec, a + 1, b - 1)
end

local function configNumber(cfg, idx, default)
  local v = tonumber(cfg[idx])
  if v == nil then return default end
  return v
end

local function histEntry(attempt, worker, start, finish, outcome, reason, err)
  local e = { a = attempt, w = worker, s = start, e = finish, o = outcome }
  if reason and reason ~= '' then e.r = reason end
  if err and err ~= '' then e.err = err end
  return cjson.encode(e)
end

local function appendHistory(histKey, id, entry)
  local h = redis.call('HGET', histKey, id)
  if h then
    redis.call('HSET', histKey, id, h .. ',' .. entry)
  else
    redis.call('HSET', histKey, id, entry)
  end
end

-- A dedupe key is held only while its job is unfinished.
local function releaseDedupe(dedupeKey, dkKey, id)
  local k = redis.call('HGET', dkKey, id)
  if k then
    if redis.call('HGET', dedupeKey, k) == id then
      redis.call('HDEL', dedupeKey, k)
    end
    redis.call('HDEL', dkKey, id)
  end
end

-- Drops finished jobs older than ttl_ms, then the oldest beyond `keep`, at most `bound`
-- per call, deleting their data from every hash in dataKeys.
local function trimFinished(setKey, now, ttl, keep, bound, dataKeys)
  local victims = {}
  if ttl > 0 then
    victims = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - ttl, 'LIMIT', 0, bound)
  end
  if #victims < bound and keep >= 0 then
    local excess = redis.call('ZCARD', setKey) - #victims - keep
    if excess > 0 then
      local more = redis.call('ZRANGE', setKey, #victims, #victims + math.min(excess, bound - #victims) - 1)
      for _, id in ipairs(more) do victims[#victims + 1] = id end
    end
  end
  if #victims > 0 then
    redis.call('ZREM', setKey, unpack(victims))
    for _, k in ipairs(dataKeys) do
      redis.call('HDEL', k, unpack(victims))
    end
  end
  return #victims
end

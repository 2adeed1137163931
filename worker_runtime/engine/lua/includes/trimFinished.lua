-- Drops finished jobs older than ttl_ms, then the oldest beyond `keep`, at most `bound`
-- per call, deleting their data from every hash in dataKeys. Both are a prefix of the set
-- (scored by finish time), so a queue at its `keep` (the usual state) costs two reads: the
-- count, and the oldest beyond it, whose last score says whether more have outlived ttl.
local function trimFinished(setKey, now, ttl, keep, bound, dataKeys)
  local victims = {}
  local excess = 0
  if keep >= 0 then excess = math.min(redis.call('ZCARD', setKey) - keep, bound) end
  if excess > 0 then
    local oldest = redis.call('ZRANGE', setKey, 0, excess - 1, 'WITHSCORES')
    for i = 1, #oldest, 2 do victims[#victims + 1] = oldest[i] end
    if ttl > 0 and #victims < bound and #oldest > 0
      and tonumber(oldest[#oldest]) <= now - ttl then
      local more = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - ttl, 'LIMIT', #victims,
        bound - #victims)
      for _, id in ipairs(more) do victims[#victims + 1] = id end
    end
  elseif ttl > 0 then
    victims = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - ttl, 'LIMIT', 0, bound)
  end
  if #victims > 0 then
    redis.call('ZREM', setKey, unpack(victims))
    for _, k in ipairs(dataKeys) do
      redis.call('HDEL', k, unpack(victims))
    end
  end
  return #victims
end

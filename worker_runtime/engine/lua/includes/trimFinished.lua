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

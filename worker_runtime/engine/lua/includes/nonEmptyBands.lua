-- Non-empty priority bands of the pending set, as {level, count} in priority order.
--@include prioSpan
--@include fmt

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

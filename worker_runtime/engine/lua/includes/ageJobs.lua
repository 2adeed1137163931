-- Aging: promotes the oldest jobs of each band that waited long enough, at most `bound`
-- per band.
--@include prioSpan
--@include fmt
--@include safePriority
--@include metaLine
--@include agedLevel

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

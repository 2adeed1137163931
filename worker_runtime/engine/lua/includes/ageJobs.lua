-- Aging: promotes the jobs at the head of each band that waited long enough, at most
-- `bound` per band. A job waits from when it last became pending: its `since` entry (due,
-- retried, released), else its enqueue time; the level it reaches is counted from its
-- original priority, and a job is never moved down.
--@include prioSpan
--@include fmt
--@include safePriority
--@include metaLine
--@include agedLevel

local function ageJobs(pendingKey, jobsKey, sinceKey, rules, now, bound)
  local moved = 0
  for from, _ in pairs(rules) do
    local head = redis.call('ZRANGEBYSCORE', pendingKey, fmt(from * PRIO_SPAN),
      '(' .. fmt((from + 1) * PRIO_SPAN), 'WITHSCORES', 'LIMIT', 0, bound)
    if #head > 0 then
      local ids = {}
      for i = 1, #head, 2 do ids[#ids + 1] = head[i] end
      local recs = redis.call('HMGET', jobsKey, unpack(ids))
      local since = redis.call('HMGET', sinceKey, unpack(ids))
      for i, id in ipairs(ids) do
        local rec = recs[i]
        if rec then
          local from_ms = tonumber(since[i]) or tonumber(string.match(rec, '^(%d+)')) or now
          local orig = safePriority(string.match(metaLine(rec), '"p":(%d+)') or from)
          local target = agedLevel(rules, orig, now - from_ms)
          -- Not a break: a job that became pending lately (released to its old place,
          -- promoted late) may stand ahead of jobs that waited longer.
          if target < from then
            local seq = tonumber(head[i * 2]) - from * PRIO_SPAN
            redis.call('ZADD', pendingKey, fmt(target * PRIO_SPAN + seq), id)
            moved = moved + 1
          end
        end
      end
    end
  end
  return moved
end

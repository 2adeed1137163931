--[[
  stats: counts the jobs of one queue per state and finds its oldest pending job.
  Read-only; one call, so the figures are one consistent snapshot.

  Keys: K.pending  K.delayed  K.running  K.completed  K.dead  K.cancelled  K.jobs  K.config
  K.waiting

  Returns {now ms, pending, delayed, running, completed, dead, cancelled,
  enqueue ms of the oldest pending job (-1: none), paused (0/1), waiting}.
]]
--@include prioSpan
--@include nowMs
--@include fmt
--@include config

local out = { nowMs() }
for _, set in ipairs({ K.pending, K.delayed, K.running, K.completed, K.dead, K.cancelled }) do
  out[#out + 1] = redis.call('ZCARD', set)
end
-- The head of each priority band is that band's oldest job (FIFO), so 11 probes suffice.
local oldest = -1
for p = 0, 10 do
  local head = redis.call('ZRANGEBYSCORE', K.pending, fmt(p * PRIO_SPAN), '(' .. fmt((p + 1) * PRIO_SPAN),
    'LIMIT', 0, 1)
  if #head > 0 then
    local rec = redis.call('HGET', K.jobs, head[1])
    if rec then
      local t = tonumber(string.match(rec, '^(%d+)'))
      if t and (oldest < 0 or t < oldest) then oldest = t end
    end
  end
end
out[#out + 1] = oldest
out[#out + 1] = readConfig(K.config, { 'paused' }).paused == '1' and 1 or 0
out[#out + 1] = redis.call('ZCARD', K.waiting)
return out

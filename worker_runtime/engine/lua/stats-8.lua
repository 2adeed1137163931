--[[
  stats: counts the jobs of one queue per state and finds its oldest pending job.
  Read-only; one call, so the figures are one consistent snapshot.

  KEYS[1] pending  KEYS[2] delayed  KEYS[3] running  KEYS[4] completed  KEYS[5] dead
  KEYS[6] cancelled  KEYS[7] jobs  KEYS[8] config

  Returns {now ms, pending, delayed, running, completed, dead, cancelled,
  enqueue ms of the oldest pending job (-1: none), paused (0/1)}.
]]
--@include common

local out = { nowMs() }
for i = 1, 6 do out[#out + 1] = redis.call('ZCARD', KEYS[i]) end
-- The head of each priority band is that band's oldest job (FIFO), so 11 probes suffice.
local oldest = -1
for p = 0, 10 do
  local head = redis.call('ZRANGEBYSCORE', KEYS[1], fmt(p * PRIO_SPAN), '(' .. fmt((p + 1) * PRIO_SPAN),
    'LIMIT', 0, 1)
  if #head > 0 then
    local rec = redis.call('HGET', KEYS[7], head[1])
    if rec then
      local t = tonumber(string.match(rec, '^(%d+)'))
      if t and (oldest < 0 or t < oldest) then oldest = t end
    end
  end
end
out[#out + 1] = oldest
out[#out + 1] = redis.call('HGET', KEYS[8], 'paused') == '1' and 1 or 0
return out

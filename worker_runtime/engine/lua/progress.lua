--[[
  progress: records a running job's progress (percent and message).

  Guarantee: only the holder of the current lease can write it.

  Keys:
    K.lease     hash  id -> "token|..."
    K.jobs      hash  id -> record (the job's name, for the progress event)
    K.progress  hash  id -> {"pct":N,"msg":"...","at":ms}
    K.config    hash  its fields ~uses (learns of progress entries) and ~watch (events)

  ARGV[1] id  ARGV[2] token  ARGV[3] percent (0-100)  ARGV[4] message

  Returns 1, or -1 when the lease was lost.
]]
--@include nowMs
--@include splitLease
--@include eventsOn
--@include publishEvents
--@include uses

local v = redis.call('HGET', K.lease, ARGV[1])
if not v or string.sub(v, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then return -1 end
local now = nowMs()
redis.call('HSET', K.progress, ARGV[1],
  cjson.encode({ pct = tonumber(ARGV[3]), msg = ARGV[4], at = now }))
local seen = redis.call('HMGET', K.config, USES, WATCH)
addUse(K.config, seen[1] or nil, 'p')
local events = eventsOn(K.jobs, seen[2] or 0, now)
if events then
  local _, _, attempt = splitLease(v)
  publishEvents(events, K.jobs, now, { { type = 'progress', id = ARGV[1], attempt = attempt,
    pct = tonumber(ARGV[3]), msg = ARGV[4] } })
end
return 1

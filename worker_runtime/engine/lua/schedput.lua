--[[
  schedput: creates or replaces the definition of one cron schedule in its queue.

  Guarantee: the definition and the state change together. A schedule whose cron
  expression or time zone changed (or a new one) gets its cursor cleared, so its tick
  sequence restarts from the next scheduler pass instead of catching up on ticks of the
  old timing; its counters and last run are kept.

  Keys:
    K.schedules   hash  name -> spec json
    K.schedstate  hash  name -> state (see includes/readState.lua)

  ARGV[1] name
  ARGV[2] spec json (fields cron, tz, queue, job, priority, suspend, policy, deadline_ms,
          body: "<meta json>\n<payload json>", the record of each run)
  ARGV[3] next tick ms, shown until a scheduler takes the schedule up

  Returns 1 created, 0 replaced (same timing), 2 replaced with new timing.
]]
--@include readState
--@include writeState

local name = ARGV[1]
local new = cjson.decode(ARGV[2])
local old = redis.call('HGET', K.schedules, name)
local code = 1
if old then
  old = cjson.decode(old)
  code = 0
  if old.cron ~= new.cron or old.tz ~= new.tz then code = 2 end
end
redis.call('HSET', K.schedules, name, ARGV[2])
local state = readState(old and redis.call('HGET', K.schedstate, name))
if code ~= 0 then
  state.cursor = ''
  state.nxt = ARGV[3]
end
writeState(K.schedstate, name, state)
return code

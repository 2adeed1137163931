-- The queue's events channel when anyone listens to it, else nil. The name is derived from
-- K.jobs ("brq:{q}:jobs" -> "brq:{q}:events") so that no script's arguments change.
-- A listener (engine/events.py) first sets the config field ~watch to a time some minutes
-- ahead (Redis clock, ms), renews it while it listens, and only then subscribes. A script
-- that read ~watch with its config passes it (`watch`: its value, 0 when unset) and `now`:
-- while it lies behind, nobody can be listening through Client.events, and the script
-- pays no command; else PUBSUB NUMSUB says whether a subscriber is still there. A caller
-- that did not read it passes nil: NUMSUB decides, as for a foreign subscriber.
local WATCH = '~watch'

local function eventsOn(jobsKey, watch, now)
  if watch ~= nil and (tonumber(watch) or 0) < now then return nil end
  local channel = string.sub(jobsKey, 1, #jobsKey - 4) .. 'events'
  if redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0 then return channel end
  return nil
end

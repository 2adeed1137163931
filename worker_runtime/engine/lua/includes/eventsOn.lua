-- The queue's events channel when anyone listens to it, else nil: a queue nobody watches
-- pays one PUBSUB NUMSUB per script call and builds no message. The name is derived from
-- K.jobs ("brq:{q}:jobs" -> "brq:{q}:events") so that no script's arguments change.
local function eventsOn(jobsKey)
  local channel = string.sub(jobsKey, 1, #jobsKey - 4) .. 'events'
  if redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0 then return channel end
  return nil
end

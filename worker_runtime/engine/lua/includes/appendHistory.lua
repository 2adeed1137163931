-- Adds one attempt (a histEntry) to a job's history.
local function appendHistory(histKey, id, entry)
  local h = redis.call('HGET', histKey, id)
  if h then
    redis.call('HSET', histKey, id, h .. ',' .. entry)
  else
    redis.call('HSET', histKey, id, entry)
  end
end

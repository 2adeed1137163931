-- A dedupe key is held only while its job is unfinished.
local function releaseDedupe(dedupeKey, dkKey, id)
  local k = redis.call('HGET', dkKey, id)
  if k then
    if redis.call('HGET', dedupeKey, k) == id then
      redis.call('HDEL', dedupeKey, k)
    end
    redis.call('HDEL', dkKey, id)
  end
end

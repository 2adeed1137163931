--[[
  configure: writes queue settings read by the other scripts (or a shared rate limiter's
  definition).

  Guarantee: all fields change together; values were validated by the caller
  (worker_runtime.models.QueueConfig). Resuming a queue wakes idle workers.

  Keys: K.config  hash  the queue's settings, or a shared limiter's limit and period

  ARGV[1] wake channel
  ARGV[2..] pairs: field, value ("" deletes the field, restoring its default)

  Returns the number of fields written or deleted.
]]

local changed = 0
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    changed = changed + redis.call('HDEL', K.config, ARGV[i])
  else
    redis.call('HSET', K.config, ARGV[i], ARGV[i + 1])
    changed = changed + 1
  end
end
if redis.call('HGET', K.config, 'paused') ~= '1' then redis.call('PUBLISH', ARGV[1], '1') end
return changed

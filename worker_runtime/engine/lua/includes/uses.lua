-- Which optional per-job state a queue may hold, so that the hot scripts (claim, complete) skip
-- the commands for state it never had. Kept in the queue's config hash, field '~uses' (no
-- setting: QueueConfig ignores it), read with the config HMGET a script does anyway, as
-- letters:
--   d dedupe keys (dedupe, dk)      c cancel requests (cancelreq)
--   k per-key running slots (rkey)  w dependencies (deps, dependants, waiting)
--   r results (result)            s pending-since entries (since)
--   a attempt counts (att: retried or released jobs)
--   h history of a job back from dead or cancelled (retry keeps it; its attempt is 1 again)
--   p progress reports (progress)
-- A script that creates such state adds its letter in the same step, so no script ever
-- sees the state without its letter. Letters are never removed (dropqueue deletes the
-- field with the state). No field means "any of it may be there": the first enqueue writes
-- the field, '' when the queue holds no job yet (nothing of the above can exist without
-- its job's record), else every letter (a queue from before the field).
local USES = '~uses'
local USES_ALL = 'dckwrsahp'

-- Whether state `letter` may exist, given the field as read (nil: unknown, so it may).
local function mayHave(u, letter)
  return not u or string.find(u, letter, 1, true) ~= nil
end

-- Adds `letter` to the field of configKey (u: its value as read; nil stays nil: unknown
-- already means every letter). Returns the new value.
local function addUse(configKey, u, letter)
  if u and not string.find(u, letter, 1, true) then
    u = u .. letter
    redis.call('HSET', configKey, USES, u)
  end
  return u
end

-- Adds the pending jobs addJob collected in one call and, if anything was written, wakes
-- workers.
local function commitJobs(K, pend, wake, written)
  if #pend > 0 then redis.call('ZADD', K.pending, unpack(pend)) end
  if written then redis.call('PUBLISH', wake, '1') end
end

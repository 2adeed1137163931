-- Frees the per-rate_key running slots of jobs whose leases end. Reads K.rkey, K.keyrun.
local function releaseKeySlots(K, ids)
  if #ids == 0 then return end
  local rks = redis.call('HMGET', K.rkey, unpack(ids))
  local any = false
  for _, rk in ipairs(rks) do
    if rk then
      any = true
      if redis.call('HINCRBY', K.keyrun, rk, -1) <= 0 then redis.call('HDEL', K.keyrun, rk) end
    end
  end
  if any then redis.call('HDEL', K.rkey, unpack(ids)) end
end

--[[
  release: hands running jobs back to pending without counting the attempt (a worker
  shutting down gracefully), at their original place in line.

  Guarantee: only the holder of the current lease can release a job; a job whose
  cancellation was requested ends cancelled instead.

  KEYS[1] running  KEYS[2] lease  KEYS[3] att  KEYS[4] pending  KEYS[5] cancelreq
  KEYS[6] cancelled  KEYS[7] reason  KEYS[8] dedupe  KEYS[9] dk  KEYS[10] jobs
  KEYS[11] hist  KEYS[12] result  KEYS[13] config  KEYS[14] progress  KEYS[15] rkey
  KEYS[16] keyrun

  ARGV[1] wake channel
  ARGV[2..] pairs: id, token

  Returns the number of jobs released to pending.
]]
--@include common
--@include finish
--@include slots

local K = { running = KEYS[1], lease = KEYS[2], att = KEYS[3], pending = KEYS[4],
  cancelreq = KEYS[5], cancelled = KEYS[6], reason = KEYS[7], dedupe = KEYS[8], dk = KEYS[9],
  jobs = KEYS[10], hist = KEYS[11], result = KEYS[12], config = KEYS[13],
  progress = KEYS[14], rkey = KEYS[15], keyrun = KEYS[16] }
local now = nowMs()
local cfg = redis.call('HMGET', K.config, unpack(FINISH_CONFIG))
local released = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local v = redis.call('HGET', K.lease, id)
  if v then
    local token, worker, attempt, start, pscore = splitLease(v)
    if token == ARGV[i + 1] then
      redis.call('ZREM', K.running, id)
      redis.call('HDEL', K.lease, id)
      releaseKeySlots(K, { id })
      if redis.call('SISMEMBER', K.cancelreq, id) == 1 then
        appendHistory(K.hist, id, histEntry(attempt, worker, start, now, 'cancelled', 'Cancelled', ''))
        toCancelled(K, id, now, cfg)
      else
        if attempt > 1 then
          redis.call('HSET', K.att, id, attempt - 1)
        else
          redis.call('HDEL', K.att, id)
        end
        redis.call('ZADD', K.pending, pscore, id)
        released = released + 1
      end
    end
  end
end
if released > 0 then redis.call('PUBLISH', ARGV[1], '1') end
return released

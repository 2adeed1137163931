--[[
  claim: leases up to N due jobs to one worker, highest priority first, FIFO within
  a priority.

  Guarantee: a job leaves `pending` only in the same script that records its lease
  (deadline in `running`, token and attempt in `lease`), so no crash can strand it.
  Due delayed jobs are promoted first, at most ARGV[4] per call.

  KEYS[1] pending  zset
  KEYS[2] delayed  zset  id -> due ms
  KEYS[3] dprio    hash  id -> priority
  KEYS[4] running  zset  id -> lease deadline ms (server clock)
  KEYS[5] lease    hash  id -> "token|worker|attempt|start|pscore"
  KEYS[6] jobs     hash  id -> record
  KEYS[7] att      hash  id -> attempts already made
  KEYS[8] seq      string counter (sequence numbers and fencing tokens)
  KEYS[9] config   hash

  ARGV[1] worker name
  ARGV[2] max jobs to claim
  ARGV[3] lease ms (-1: the queue's lease_ms)
  ARGV[4] max delayed jobs to promote

  Returns {status, lease_ms, id, token, attempt, record, ...} where status is -2 when the
  queue is paused, otherwise the ms until the next delayed job is due (-1: none).
]]
--@include common

local now = nowMs()
local cfg = redis.call('HMGET', KEYS[9], 'paused', 'lease_ms')
local leaseMs = tonumber(ARGV[3])
if leaseMs < 0 then leaseMs = configNumber(cfg, 2, 30000) end
if cfg[1] == '1' then return { -2, leaseMs } end

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
if #due > 0 then
  local prios = redis.call('HMGET', KEYS[3], unpack(due))
  local base = redis.call('INCRBY', KEYS[8], #due) - #due
  local args = {}
  for i, id in ipairs(due) do
    args[#args + 1] = fmt((tonumber(prios[i]) or 5) * PRIO_SPAN + base + i)
    args[#args + 1] = id
  end
  redis.call('ZADD', KEYS[1], unpack(args))
  redis.call('ZREM', KEYS[2], unpack(due))
  redis.call('HDEL', KEYS[3], unpack(due))
end

local out = { -1, leaseMs }
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[2]))
if #popped > 0 then
  local ids = {}
  for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  local recs = redis.call('HMGET', KEYS[6], unpack(ids))
  local atts = redis.call('HMGET', KEYS[7], unpack(ids))
  local tok = redis.call('INCRBY', KEYS[8], #ids) - #ids
  local deadline = now + leaseMs
  local runArgs, leaseArgs = {}, {}
  for i, id in ipairs(ids) do
    -- A record can only be missing if it was deleted by hand; drop such ids.
    if recs[i] then
      local attempt = (tonumber(atts[i]) or 0) + 1
      local token = tok + i
      runArgs[#runArgs + 1] = fmt(deadline)
      runArgs[#runArgs + 1] = id
      leaseArgs[#leaseArgs + 1] = id
      leaseArgs[#leaseArgs + 1] = token .. '|' .. ARGV[1] .. '|' .. attempt .. '|' .. fmt(now)
        .. '|' .. popped[i * 2]
      out[#out + 1] = id
      out[#out + 1] = token
      out[#out + 1] = attempt
      out[#out + 1] = recs[i]
    end
  end
  if #runArgs > 0 then
    redis.call('ZADD', KEYS[4], unpack(runArgs))
    redis.call('HSET', KEYS[5], unpack(leaseArgs))
  end
end

local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head > 0 then out[1] = math.max(0, tonumber(head[2]) - now) end
return out

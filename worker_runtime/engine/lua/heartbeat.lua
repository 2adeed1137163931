--[[
  heartbeat: extends every lease one worker holds on one queue, in one call.

  Guarantee: only a lease whose fencing token still matches is extended; a lease that
  expired and was recovered (or re-leased to another worker) is reported lost and left
  alone.

  Keys:
    K.running    zset  id -> lease deadline ms
    K.lease      hash  id -> "token|worker|attempt|start|pscore"
    K.cancelreq  set   ids of running jobs whose cancellation was requested

  ARGV[1] lease ms
  ARGV[2..] pairs: id, token

  Returns {lost ids, cancel-requested ids}.
]]
--@include nowMs
--@include fmt

local now = nowMs()
local deadline = fmt(now + tonumber(ARGV[1]))
local ids, tokens = {}, {}
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  tokens[#tokens + 1] = ARGV[i + 1]
end
if #ids == 0 then return { {}, {} } end
local leases = redis.call('HMGET', K.lease, unpack(ids))
local lost, keep, alive = {}, {}, {}
for i, id in ipairs(ids) do
  local v = leases[i]
  if v and string.sub(v, 1, #tokens[i] + 1) == tokens[i] .. '|' then
    keep[#keep + 1] = deadline
    keep[#keep + 1] = id
    alive[#alive + 1] = id
  else
    lost[#lost + 1] = id
  end
end
local cancelled = {}
if #keep > 0 then
  redis.call('ZADD', K.running, 'XX', unpack(keep))
  local flags = redis.call('SMISMEMBER', K.cancelreq, unpack(alive))
  for i, id in ipairs(alive) do
    if flags[i] == 1 then cancelled[#cancelled + 1] = id end
  end
end
return { lost, cancelled }

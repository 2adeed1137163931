--[[
  retry: sends dead (or cancelled) jobs back to pending with a fresh set of attempts;
  their history is kept.

  Guarantee: a job moves only from `dead` or `cancelled`, never from a live state, so a
  retry can never run a job twice. Bounded by ARGV[3] jobs per call in "all" mode.

  KEYS[1] jobs  KEYS[2] dead  KEYS[3] cancelled  KEYS[4] reason  KEYS[5] att
  KEYS[6] pending  KEYS[7] seq  KEYS[8] dedupe  KEYS[9] dk

  ARGV[1] wake channel
  ARGV[2] mode: "ids" or "all" (every dead job, oldest first)
  ARGV[3] max jobs per call ("all" mode)
  ARGV[4..] ids ("ids" mode)

  Returns one code per id ("ids" mode): 1 retried, -4 no such job, -5 not dead or
  cancelled; in "all" mode {count}.
]]
--@include common

local ids = {}
if ARGV[2] == 'all' then
  ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
else
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end

local codes, count = {}, 0
for i, id in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[1], id)
  if not rec then
    codes[i] = -4
  elseif redis.call('ZREM', KEYS[2], id) + redis.call('ZREM', KEYS[3], id) == 0 then
    codes[i] = -5
  else
    local meta = recordMeta(rec)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
    if type(meta.dk) == 'string' and meta.dk ~= ''
      and redis.call('HSETNX', KEYS[8], meta.dk, id) == 1 then
      redis.call('HSET', KEYS[9], id, meta.dk)
    end
    local seq = redis.call('INCR', KEYS[7])
    redis.call('ZADD', KEYS[6], fmt(safePriority(meta.p) * PRIO_SPAN + seq), id)
    codes[i] = 1
    count = count + 1
  end
end
if count > 0 then redis.call('PUBLISH', ARGV[1], '1') end
if ARGV[2] == 'all' then return { count } end
return codes

--[[
  retry: sends dead (or cancelled) jobs back to pending with a fresh set of attempts;
  their history is kept.

  Guarantee: a job moves only from `dead` or `cancelled`, never from a live state, so a
  retry can never run a job twice. Bounded by ARGV[3] jobs per call in "all" mode.

  Keys: K.jobs  K.dead  K.cancelled  K.reason  K.att  K.pending  K.seq  K.dedupe  K.dk
    K.config   hash  its field ~uses learns of the dedupe keys taken again, of the since
               entries and of the history the jobs keep (see uses)
    K.since  hash  id -> when it became pending again (aging counts its wait from now)

  ARGV[1] wake channel
  ARGV[2] mode: "ids" or "all" (every dead job, oldest first)
  ARGV[3] max jobs per call ("all" mode)
  ARGV[4..] ids ("ids" mode)

  Returns one code per id ("ids" mode): 1 retried, -4 no such job, -5 not dead or
  cancelled; in "all" mode {count}.
]]
--@include prioSpan
--@include fmt
--@include recordMeta
--@include safePriority
--@include nowMs
--@include eventsOn
--@include publishEvents
--@include uses

local ids = {}
if ARGV[2] == 'all' then
  ids = redis.call('ZRANGE', K.dead, 0, tonumber(ARGV[3]) - 1)
else
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end

local now = nowMs()
local codes, count, retried = {}, 0, {}
for i, id in ipairs(ids) do
  local rec = redis.call('HGET', K.jobs, id)
  if not rec then
    codes[i] = -4
  elseif redis.call('ZREM', K.dead, id) + redis.call('ZREM', K.cancelled, id) == 0 then
    codes[i] = -5
  else
    local meta = recordMeta(rec)
    redis.call('HDEL', K.reason, id)
    redis.call('HDEL', K.att, id)
    if type(meta.dk) == 'string' and meta.dk ~= ''
      and redis.call('HSETNX', K.dedupe, meta.dk, id) == 1 then
      redis.call('HSET', K.dk, id, meta.dk)
      addUse(K.config, redis.call('HGET', K.config, USES) or nil, 'd')
    end
    local seq = redis.call('INCR', K.seq)
    -- From its original priority, and aging starts over: it has not waited until now.
    redis.call('ZADD', K.pending, fmt(safePriority(meta.p) * PRIO_SPAN + seq), id)
    redis.call('HSET', K.since, id, now)
    codes[i] = 1
    retried[#retried + 1] = { type = 'retried', id = id, attempt = 0, name = meta.n }
    count = count + 1
  end
end
if count > 0 then
  local u = addUse(K.config, redis.call('HGET', K.config, USES) or nil, 's')
  addUse(K.config, u, 'h')
  redis.call('PUBLISH', ARGV[1], '1')
  publishEvents(eventsOn(K.jobs), K.jobs, now, retried)
end
if ARGV[2] == 'all' then return { count } end
return codes

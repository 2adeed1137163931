-- A waiting job whose dependencies are all settled goes to pending at its priority (or to
-- delayed while the delay or run_at it was enqueued with lies ahead). d is its decoded
-- `deps` entry, written back without the list of dependencies it waited on.
--@include prioSpan
--@include fmt
--@include recordMeta
--@include safePriority
--@include uses

local function releaseWaiting(K, id, d, now)
  redis.call('ZREM', K.waiting, id)
  d.left = nil
  d.released = now
  redis.call('HSET', K.deps, id, cjson.encode(d))
  local rec = redis.call('HGET', K.jobs, id)
  local prio = safePriority(rec and recordMeta(rec).p)
  local due = tonumber(d.due) or -1
  if due > now then
    redis.call('ZADD', K.delayed, fmt(due), id)
    redis.call('HSET', K.dprio, id, prio)
  else
    local seq = redis.call('INCR', K.seq)
    redis.call('ZADD', K.pending, fmt(prio * PRIO_SPAN + seq), id)
    redis.call('HSET', K.since, id, now)
    addUse(K.config, redis.call('HGET', K.config, USES) or nil, 's')
  end
end

-- Writes one validated job, shared by enqueue and fire (which must enqueue exactly like
-- enqueue). K holds the key names jobs, pending, delayed, dprio, dedupe and dk.
-- The job is due at runAt (ms, -1: none) or after delay (ms, -1: none). A pending job's
-- score/id pair is appended to pend, for one ZADD by commitJobs.
-- Returns 1 created, 0 id exists, 2 dedupe key held; and the id (the holder's on 2).
-- With hold, the job goes to K.waiting (enqueuedeps: it has dependencies) instead.
-- addedDedupe says whether any call wrote a dedupe key: the caller adds 'd' to the
-- queue's ~uses (see uses) in the same script.
--@include prioSpan
--@include fmt

local addedDedupe = false

local function addJob(K, now, seq, id, prio, delay, runAt, dedupe, body, pend, hold)
  if dedupe ~= '' then
    local existing = redis.call('HGET', K.dedupe, dedupe)
    if existing then return 2, existing end
  end
  if redis.call('HSETNX', K.jobs, id, fmt(now) .. '\n' .. body) == 0 then
    return 0, id
  end
  if dedupe ~= '' then
    redis.call('HSET', K.dedupe, dedupe, id)
    redis.call('HSET', K.dk, id, dedupe)
    addedDedupe = true
  end
  if hold then
    redis.call('ZADD', K.waiting, now, id)
    return 1, id
  end
  local due = now
  if runAt >= 0 then due = runAt elseif delay > 0 then due = now + delay end
  if due > now then
    redis.call('ZADD', K.delayed, due, id)
    redis.call('HSET', K.dprio, id, prio)
  else
    pend[#pend + 1] = fmt(prio * PRIO_SPAN + seq)
    pend[#pend + 1] = id
  end
  return 1, id
end

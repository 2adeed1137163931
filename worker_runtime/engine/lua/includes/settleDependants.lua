-- Tells the waiting dependants of jobs that just finished (outcome "completed", "dead",
-- "cancelled", or "purged": deleted) in one step: a completed dependency is crossed off; a
-- failed one follows each dependant's policy (cancel: it is cancelled too, and its own
-- dependants learn of it; run: crossed off; wait: it keeps waiting for a retry, unless the
-- dependency was purged: then nothing can be retried and it is cancelled). A dependant
-- with nothing left is released. One HMGET for the whole batch when no job of it has dependants.
-- K holds the calling script's keys (waiting deps dependants pending delayed dprio seq since
-- and those of toCancelled); cfg holds FINISH_CONFIG. Wakes workers and tells waiters
-- itself (channels derived from K.jobs). Its events (released, cancelled) go into the
-- caller's list `into`, which the caller publishes with its own as one message; without
-- one, it publishes them itself when anyone listens. Returns the number of jobs released.
--@include releaseWaiting
--@include toCancelled
--@include eventsOn
--@include publishEvents

local function settleDependants(K, ids, outcome, now, cfg, into)
  if #ids == 0 then return 0 end
  local lists = redis.call('HMGET', K.dependants, unpack(ids))
  local work = {}
  for i, list in ipairs(lists) do
    if list then work[#work + 1] = { ids[i], outcome, list } end
  end
  local released, cancelled, evs = 0, {}, into or {}
  while #work > 0 do
    local dep, how, list = unpack(table.remove(work))
    for id in string.gmatch(list, '[^\n]+') do
      local raw = redis.call('ZSCORE', K.waiting, id) and redis.call('HGET', K.deps, id)
      local d = raw and cjson.decode(raw)
      local at = nil
      for j, left in ipairs(d and d.left or {}) do
        if left == dep then at = j end
      end
      local policy = d and d.policy
      if how == 'purged' and policy == 'wait' then policy = 'cancel' end
      local ended = 'dependency ' .. dep
        .. (how == 'purged' and ' was purged' or (' ended ' .. how))
      if at and (how == 'completed' or policy == 'run') then
        table.remove(d.left, at)
        if how ~= 'completed' then d.note = ended .. '; ran anyway (policy run)' end
        if #d.left == 0 then
          releaseWaiting(K, id, d, now)
          released = released + 1
          evs[#evs + 1] = { type = 'released', id = id, attempt = 0 }
        else
          redis.call('HSET', K.deps, id, cjson.encode(d))
        end
      elseif at and policy == 'cancel' then
        d.note = ended
        redis.call('HSET', K.deps, id, cjson.encode(d))
        redis.call('ZREM', K.waiting, id)
        local more = redis.call('HGET', K.dependants, id)
        local rec = redis.call('HGET', K.jobs, id)
        evs[#evs + 1] = { type = 'cancelled', id = id, attempt = 0, reason = 'DependencyFailed',
          name = rec and recordMeta(rec).n or false }
        toCancelled(K, id, now, cfg, 'DependencyFailed')
        cancelled[#cancelled + 1] = id
        if more then work[#work + 1] = { id, 'cancelled', more } end
      elseif at then
        d.note = ended .. '; waits for it to be retried (policy wait)'
        redis.call('HSET', K.deps, id, cjson.encode(d))
      end
    end
  end
  if not into and #evs > 0 then publishEvents(eventsOn(K.jobs), K.jobs, now, evs) end
  local tag = string.sub(K.jobs, 1, #K.jobs - 4)
  if released > 0 then redis.call('PUBLISH', tag .. 'wake', '1') end
  if #cancelled > 0 then redis.call('PUBLISH', tag .. 'done', table.concat(cancelled, '\n')) end
  return released
end

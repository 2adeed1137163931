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
-- A dependant of another queue is listed as "<queue> <id>" (ids have no spaces) and names
-- this dependency "<this queue> <id>" in its own entry: such an entry makes this script
-- touch that queue's keys (queueKeys), which only a single Redis allows.
--@include releaseWaiting
--@include toCancelled
--@include eventsOn
--@include publishEvents
--@include queueKeys
--@include config
--@include finishConfig

local function settleDependants(K, ids, outcome, now, cfg, into)
  if #ids == 0 then return 0 end
  local lists = redis.call('HMGET', K.dependants, unpack(ids))
  local work = {}
  local home = queueOf(K.jobs)
  for i, list in ipairs(lists) do
    if list then work[#work + 1] = { home, ids[i], outcome, list } end
  end
  if #work == 0 then return 0 end
  -- Per queue touched: its keys, config, events and what to announce on its channels.
  local home_q = { K = K, cfg = cfg, released = 0, cancelled = {}, evs = into or {} }
  local queues, order = { [home] = home_q }, { home }
  local function queue(name)
    local q = queues[name]
    if not q then
      local QK = queueKeys(name)
      q = { K = QK, cfg = readConfig(QK.config, FINISH_CONFIG), released = 0, cancelled = {},
        evs = {} }
      queues[name] = q
      order[#order + 1] = name
    end
    return q
  end
  while #work > 0 do
    local from, dep, how, list = unpack(table.remove(work))
    for entry in string.gmatch(list, '[^\n]+') do
      local name, id = string.match(entry, '^(%S+) (%S+)$')
      if not name then name, id = from, entry end
      local q = queue(name)
      local QK = q.K
      local ref = name == from and dep or (from .. ' ' .. dep)
      local raw = redis.call('ZSCORE', QK.waiting, id) and redis.call('HGET', QK.deps, id)
      local d = raw and cjson.decode(raw)
      local at = nil
      for j, left in ipairs(d and d.left or {}) do
        if left == ref then at = j end
      end
      local policy = d and d.policy
      if how == 'purged' and policy == 'wait' then policy = 'cancel' end
      local ended = 'dependency ' .. ref
        .. (how == 'purged' and ' was purged' or (' ended ' .. how))
      if at and (how == 'completed' or policy == 'run') then
        table.remove(d.left, at)
        if how ~= 'completed' then d.note = ended .. '; ran anyway (policy run)' end
        if #d.left == 0 then
          releaseWaiting(QK, id, d, now)
          q.released = q.released + 1
          q.evs[#q.evs + 1] = { type = 'released', id = id, attempt = 0 }
        else
          redis.call('HSET', QK.deps, id, cjson.encode(d))
        end
      elseif at and policy == 'cancel' then
        d.note = ended
        redis.call('HSET', QK.deps, id, cjson.encode(d))
        redis.call('ZREM', QK.waiting, id)
        local more = redis.call('HGET', QK.dependants, id)
        local rec = redis.call('HGET', QK.jobs, id)
        q.evs[#q.evs + 1] = { type = 'cancelled', id = id, attempt = 0,
          reason = 'DependencyFailed', name = rec and recordMeta(rec).n or false }
        toCancelled(QK, id, now, q.cfg, 'DependencyFailed')
        q.cancelled[#q.cancelled + 1] = id
        if more then work[#work + 1] = { name, id, 'cancelled', more } end
      elseif at then
        d.note = ended .. '; waits for it to be retried (policy wait)'
        redis.call('HSET', QK.deps, id, cjson.encode(d))
      end
    end
  end
  local released = 0
  for _, name in ipairs(order) do
    local q = queues[name]
    local jobs = q.K.jobs
    if (name ~= home or not into) and #q.evs > 0 then
      publishEvents(eventsOn(jobs), jobs, now, q.evs)
    end
    local tag = string.sub(jobs, 1, #jobs - 4)
    if q.released > 0 then redis.call('PUBLISH', tag .. 'wake', '1') end
    if #q.cancelled > 0 then
      redis.call('PUBLISH', tag .. 'done', table.concat(q.cancelled, '\n'))
    end
    released = released + q.released
  end
  return released
end

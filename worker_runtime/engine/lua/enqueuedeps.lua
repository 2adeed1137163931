--[[
  enqueuedeps: adds jobs of which some depend on other jobs (of any queue), all or
  nothing (enqueue without dependencies stays the lighter enqueue script).

  Guarantee: every job and every dependency is checked before anything is written: a
  dependency must be an existing job (of this queue, or of another queue on the same
  Redis) or an earlier job of this call, so cycles cannot be built. A job with
  dependencies waits in `waiting` until each has completed; the script that completes
  the last one releases it (settleDependants), in whichever queue it is. Dependencies
  that completed already count at once; a dead or cancelled one applies the job's policy
  now (cancel, run or wait).

  Keys: K.jobs  K.pending  K.delayed  K.dprio  K.seq  K.config  K.dedupe  K.dk  K.enqueued
    K.waiting     zset  id -> enqueue ms, jobs waiting for dependencies
    K.deps        hash  id -> {"on": [ids], "left": [ids], "policy", "due", "note"}
    K.dependants  hash  id -> newline-joined ids of the jobs that depend on it ("<queue>
                  <id>" for a job of another queue)
    K.completed  K.dead  K.cancelled  (a dependency's state)
    K.reason  K.cancelreq  K.att  K.hist  K.result  K.progress  K.since

  ARGV[1] wake channel
  ARGV[2] n, the number of jobs; then 8 entries per job: id, priority (0-10), delay ms
          (-1: none), run_at ms (-1: none), dedupe key ("" for none), body, dependencies
          newline-joined, each an id of this queue or "<queue> <id>" of another queue
          (ids have no whitespace; "" for none), policy on a failed dependency
          (cancel|run|wait)

  A dependency of another queue is read and registered in that queue's keys, which it
  does not declare (queueKeys): single Redis only. On a Redis Cluster (CLUSTER keyslot
  answers; asked only when a job names another queue) the call is refused before anything is read there.
  then the enqueue counters' runs, as in enqueue

  Returns {code1, id1, ...} as enqueue. Errors (nothing written): {-10, index} payload
  over max_payload_bytes, {-11, index} priority out of range, {-12, index, dependency
  position} no such job (in this queue, or in the queue the dependency names), {-13,
  index, dependency position} a dependency of another queue on a Redis Cluster.
]]
--@include nowMs
--@include config
--@include finishConfig
--@include bodyFits
--@include addJob
--@include commitJobs
--@include countEnqueued
--@include toCancelled
--@include releaseWaiting
--@include eventsOn
--@include publishEvents
--@include queueKeys
--@include uses

local STRIDE = 8
local now = nowMs()
local cfg = readConfig(K.config, { 'max_payload_bytes', 'result_ttl_ms', 'keep_completed',
  'dead_ttl_ms', 'keep_dead', USES, WATCH })
local n = tonumber(ARGV[2])

local function split(joined)
  local out = {}
  for id in string.gmatch(joined, '[^\n]+') do out[#out + 1] = id end
  return out
end

local home = queueOf(K.jobs)
-- A dependency's queue keys and id; a plain id is of this queue.
local foreign = {}
local function where(dep)
  local name, id = string.match(dep, '^(%S+) (%S+)$')
  if not name then return K, dep, nil end
  foreign[name] = foreign[name] or queueKeys(name)
  return foreign[name], id, name
end

-- Other queues' keys are in other slots: refused on a Cluster, where only luck (both
-- slots on one node) would let an old-style script reach them.
local clustered = nil
local function onCluster()
  if clustered == nil then
    -- A standalone server answers an error ("cluster support disabled"): pure and cheap.
    clustered = type(redis.pcall('CLUSTER', 'keyslot', K.jobs)) == 'number'
  end
  return clustered
end

local earlier = {}
for i = 0, n - 1 do
  local b = 3 + i * STRIDE
  local prio = tonumber(ARGV[b + 1])
  if prio == nil or prio < 0 or prio > 10 or prio ~= math.floor(prio) then
    return { -11, i }
  end
  if not bodyFits(ARGV[b + 5], cfg.max_payload_bytes) then
    return { -10, i }
  end
  for j, dep in ipairs(split(ARGV[b + 6])) do
    local QK, id, name = where(dep)
    if name and onCluster() then return { -13, i, j - 1 } end
    if not (name == nil and earlier[dep]) and redis.call('HEXISTS', QK.jobs, id) == 0 then
      return { -12, i, j - 1 }
    end
  end
  earlier[ARGV[b]] = true
end

-- Dependencies ('w' in ~uses, see uses) are written below: in this queue (deps, waiting,
-- its jobs' dependants) and in the queues of foreign dependencies (their dependants).
local usesOf = { [K.config] = cfg[USES] }
local function usesW(configKey)
  local u = usesOf[configKey]
  if u == nil then u = redis.call('HGET', configKey, USES) or nil end
  usesOf[configKey] = addUse(configKey, u, 'w') or false
end
local seqBase = redis.call('INCRBY', K.seq, n) - n
local out, pend, done, evs = {}, {}, {}, {}
local written = false
for i = 0, n - 1 do
  local b = 3 + i * STRIDE
  local deps = split(ARGV[b + 6])
  local delay, runAt = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local code, id = addJob(K, now, seqBase + i + 1, ARGV[b], tonumber(ARGV[b + 1]), delay, runAt,
    ARGV[b + 4], ARGV[b + 5], pend, #deps > 0)
  written = written or code == 1
  out[#out + 1] = code
  out[#out + 1] = id
  if code == 1 then evs[#evs + 1] = { type = 'enqueued', id = id, attempt = 0 } end
  if code == 1 and #deps > 0 then
    if usesOf[K.config] ~= false then usesW(K.config) end
    local due = -1
    if runAt >= 0 then due = runAt elseif delay > 0 then due = now + delay end
    local d = { on = deps, left = {}, policy = ARGV[b + 7], due = due }
    local failed = nil
    for _, dep in ipairs(deps) do
      local QK, depId, name = where(dep)
      local how = nil
      if redis.call('ZSCORE', QK.completed, depId) then how = 'completed'
      elseif redis.call('ZSCORE', QK.dead, depId) then how = 'dead'
      elseif redis.call('ZSCORE', QK.cancelled, depId) then how = 'cancelled'
      -- An earlier job of this call that was not created (its dedupe key was held).
      elseif redis.call('HEXISTS', QK.jobs, depId) == 0 then how = 'missing' end
      if how == nil or (how ~= 'completed' and d.policy == 'wait') then
        d.left[#d.left + 1] = dep
      end
      if how ~= nil and how ~= 'completed' then
        failed = failed or { dep, how }
      end
      local me = name and (home .. ' ' .. id) or id
      if usesOf[QK.config] ~= false then usesW(QK.config) end
      local list = redis.call('HGET', QK.dependants, depId)
      redis.call('HSET', QK.dependants, depId, list and (list .. '\n' .. me) or me)
    end
    if failed then
      d.note = 'dependency ' .. failed[1] .. ' ended ' .. failed[2]
      if d.policy == 'run' then d.note = d.note .. '; ran anyway (policy run)' end
      if d.policy == 'wait' then
        d.note = d.note .. '; waits for it to be retried (policy wait)'
      end
    end
    if failed and d.policy == 'cancel' then
      d.left = nil
      redis.call('HSET', K.deps, id, cjson.encode(d))
      redis.call('ZREM', K.waiting, id)
      evs[#evs + 1] = { type = 'cancelled', id = id, attempt = 0, reason = 'DependencyFailed',
        name = recordMeta('0\n' .. ARGV[b + 5]).n }
      toCancelled(K, id, now, cfg, 'DependencyFailed')
      done[#done + 1] = id
    elseif #d.left == 0 then
      releaseWaiting(K, id, d, now)
    else
      redis.call('HSET', K.deps, id, cjson.encode(d))
    end
  end
end
if addedDedupe and usesOf[K.config] then addUse(K.config, usesOf[K.config], 'd') end
commitJobs(K, pend, ARGV[1], written)
countEnqueued(K, out, 3 + n * STRIDE)
if written then publishEvents(eventsOn(K.jobs, cfg[WATCH] or 0, now), K.jobs, now, evs) end
if #done > 0 then
  redis.call('PUBLISH', string.sub(K.jobs, 1, #K.jobs - 4) .. 'done', table.concat(done, '\n'))
end
return out

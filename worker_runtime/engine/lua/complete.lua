--[[
  complete: records the success of one or many running jobs of one queue.

  Guarantee: a completion is accepted only from the holder of the current lease (the
  fencing token matches), so a worker whose lease expired cannot overwrite a newer
  attempt. A job whose cancellation was requested while it ran ends `cancelled`.
  Finished jobs beyond the retention (age and count) are trimmed in the same step.

  Keys: K.running  K.lease  K.att  K.hist  K.completed  K.result  K.jobs  K.dedupe  K.dk
  K.cancelreq  K.config  K.cancelled  K.reason  K.progress  K.rkey  K.keyrun
  Dependants (settleDependants): K.waiting  K.deps  K.dependants  K.pending  K.delayed
  K.dprio  K.seq  K.since

  ARGV[1] worker name
  ARGV[2] wake channel (published when a running cap frees a slot)
  ARGV[3] done channel (the ids that finished, newline-joined, for waiters)
  ARGV[4..] triples: id, token, result json ("" for none)

  Returns one code per job: 1 completed, -1 lease lost (stale token or not running),
  -2 cancelled while running (the job is now cancelled).
]]
--@include nowMs
--@include splitLease
--@include histEntry
--@include leaseLevel
--@include config
--@include trimFinished
--@include toCancelled
--@include settleDependants
--@include releaseKeySlots
--@include eventsOn
--@include recordMeta
--@include publishEvents
--@include uses

local now = nowMs()
local cfg = readConfig(K.config, { 'result_ttl_ms', 'keep_completed', 'dead_ttl_ms',
  'keep_dead', 'max_running', 'key_max_running', USES, WATCH })
-- What state this queue may hold (see uses): commands for the rest are skipped.
local uses = cfg[USES]

local ids, tokens, results = {}, {}, {}
for i = 4, #ARGV, 3 do
  ids[#ids + 1] = ARGV[i]
  tokens[#tokens + 1] = ARGV[i + 1]
  results[#results + 1] = ARGV[i + 2]
end
if #ids == 0 then return {} end

local leases = redis.call('HMGET', K.lease, unpack(ids))
local flags = mayHave(uses, 'c') and redis.call('SMISMEMBER', K.cancelreq, unpack(ids)) or {}
local codes, done, doneArgs, resArgs, histArgs = {}, {}, {}, {}, {}
-- Attempts after the first: only they have an `att` entry (a first attempt was claimed
-- with none, and only the lease holder's own failure or release writes one).
local again = {}
local lTok, lWorker, lAttempt, lStart, lScore = {}, {}, {}, {}, {}
for i, v in ipairs(leases) do
  if v then lTok[i], lWorker[i], lAttempt[i], lStart[i], lScore[i] = splitLease(v) end
end
-- Earlier attempts' history: a first attempt has none, unless its job came back from dead
-- or cancelled with its history (retry: 'h' in ~uses, see uses).
local hists, withHist = {}, {}
for i = 1, #ids do
  if lTok[i] == tokens[i] and (mayHave(uses, 'h') or lAttempt[i] > 1) then
    withHist[#withHist + 1] = i
  end
end
if #withHist > 0 then
  local names = {}
  for j, i in ipairs(withHist) do names[j] = ids[i] end
  local got = redis.call('HMGET', K.hist, unpack(names))
  for j, i in ipairs(withHist) do hists[i] = got[j] end
end
local finished = {}
local events = eventsOn(K.jobs, cfg[WATCH] or 0, now)
local evs = {}
-- Named before any move: a job cancelled here may be trimmed with its record.
local recs = events and redis.call('HMGET', K.jobs, unpack(ids)) or {}
for i, id in ipairs(ids) do
  local token, worker, attempt, start, pscore = lTok[i], lWorker[i], lAttempt[i], lStart[i],
    lScore[i]
  if token ~= tokens[i] then
    codes[i] = -1
  else
    finished[#finished + 1] = id
    if events then
      evs[#evs + 1] = { type = flags[i] == 1 and 'cancelled' or 'completed', id = id,
        attempt = tonumber(attempt), name = recs[i] and recordMeta(recs[i]).n or false }
    end
    local outcome = 'completed'
    if flags[i] == 1 then outcome = 'cancelled' end
    local entry = histEntry(attempt, worker, start, now, outcome, '', '', leaseLevel(pscore))
    local history = hists[i] and (hists[i] .. ',' .. entry) or entry
    if flags[i] == 1 then
      codes[i] = -2
      -- Written before the move: toCancelled may trim the job, history included.
      redis.call('HSET', K.hist, id, history)
      settleDependants(K, { id }, 'cancelled', now, cfg, evs)
      toCancelled(K, id, now, cfg)
    else
      histArgs[#histArgs + 1] = id
      histArgs[#histArgs + 1] = history
      codes[i] = 1
      done[#done + 1] = id
      if attempt > 1 then again[#again + 1] = id end
      doneArgs[#doneArgs + 1] = now
      doneArgs[#doneArgs + 1] = id
      if results[i] ~= '' then
        resArgs[#resArgs + 1] = id
        resArgs[#resArgs + 1] = results[i]
      end
    end
  end
end

if #finished > 0 then
  redis.call('ZREM', K.running, unpack(finished))
  redis.call('HDEL', K.lease, unpack(finished))
  if #histArgs > 0 then redis.call('HSET', K.hist, unpack(histArgs)) end
  if mayHave(uses, 'k') then releaseKeySlots(K, finished) end
  if cfg.max_running or cfg.key_max_running then redis.call('PUBLISH', ARGV[2], '1') end
  redis.call('PUBLISH', ARGV[3], table.concat(finished, '\n'))
end
if #done > 0 then
  if #again > 0 then redis.call('HDEL', K.att, unpack(again)) end
  if mayHave(uses, 'd') then
    local dks = redis.call('HMGET', K.dk, unpack(done))
    for i, id in ipairs(done) do
      if dks[i] then
        if redis.call('HGET', K.dedupe, dks[i]) == id then redis.call('HDEL', K.dedupe, dks[i]) end
        redis.call('HDEL', K.dk, id)
      end
    end
  end
  redis.call('ZADD', K.completed, unpack(doneArgs))
  if #resArgs > 0 then
    redis.call('HSET', K.result, unpack(resArgs))
    uses = addUse(K.config, uses, 'r')
  end
  -- Before the trim, which may drop a completed job's list of dependants.
  if mayHave(uses, 'w') then settleDependants(K, done, 'completed', now, cfg, evs) end
  -- A completed job has no `reason` (only dead and cancelled ones do; retry deletes it).
  local data = { K.jobs, K.hist }
  if mayHave(uses, 'p') then data[#data + 1] = K.progress end
  if mayHave(uses, 'r') then data[#data + 1] = K.result end
  if mayHave(uses, 'w') then
    data[#data + 1] = K.deps
    data[#data + 1] = K.dependants
  end
  if uses == nil then data[#data + 1] = K.reason end
  trimFinished(K.completed, now, cfg.result_ttl_ms, cfg.keep_completed,
    math.max(100, 2 * #done), data)
end
-- One message for the whole batch: its jobs, then what their dependants did.
publishEvents(events, K.jobs, now, evs)
return codes

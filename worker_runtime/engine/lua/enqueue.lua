--[[
  enqueue: adds one or many jobs to one queue, all or nothing.

  Guarantee: every job is validated before anything is written; a job is either
  pending (due now) or delayed (due later), never half-written. A job id that already
  exists, or a dedupe key held by an unfinished job, writes nothing and returns the
  existing job's id.

  Keys:
    K.jobs     hash  id -> record
    K.pending  zset  id -> priority * PRIO_SPAN + seq
    K.delayed  zset  id -> due ms
    K.dprio    hash  id -> priority (delayed jobs only)
    K.seq      string counter
    K.config   hash
    K.dedupe   hash  dedupe key -> id
    K.dk       hash  id -> dedupe key
    K.enqueued hash  "<priority>\n<job name>" -> jobs created (a Prometheus counter)

  ARGV[1] wake channel
  ARGV[2] n, the number of jobs; then 6 entries per job:
          id, priority (0-10), delay ms (-1: none), run_at ms (-1: none),
          dedupe key ("" for none), body ("<meta json>\n<payload json>")
  then m, the number of runs of consecutive jobs sharing a counter field, and m pairs:
          field ("<priority>\n<job name>"), run length (a bulk enqueue of one name and
          priority is one run, so one HINCRBY)

  Returns {code1, id1, code2, id2, ...}: 1 created, 0 id exists, 2 dedupe key held.
  Errors (nothing written): {-10, index} payload over max_payload_bytes,
  {-11, index} priority out of range.
]]
--@include nowMs
--@include config
--@include bodyFits
--@include addJob
--@include commitJobs
--@include countEnqueued
--@include eventsOn
--@include publishEvents
--@include uses

local now = nowMs()
local cfg = readConfig(K.config, { 'max_payload_bytes', USES, WATCH })
local limit = cfg.max_payload_bytes
local n = tonumber(ARGV[2])

for i = 0, n - 1 do
  local b = 3 + i * 6
  local prio = tonumber(ARGV[b + 1])
  if prio == nil or prio < 0 or prio > 10 or prio ~= math.floor(prio) then
    return { -11, i }
  end
  if not bodyFits(ARGV[b + 5], limit) then
    return { -10, i }
  end
end

local uses = cfg[USES]
if uses == nil then
  uses = redis.call('HLEN', K.jobs) == 0 and '' or USES_ALL
  redis.call('HSET', K.config, USES, uses)
end
local seqBase = redis.call('INCRBY', K.seq, n) - n
local out = {}
local written = false
local pend = {}
for i = 0, n - 1 do
  local b = 3 + i * 6
  local code, id = addJob(K, now, seqBase + i + 1, ARGV[b], tonumber(ARGV[b + 1]),
    tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4], ARGV[b + 5], pend)
  written = written or code == 1
  out[#out + 1] = code
  out[#out + 1] = id
end
if addedDedupe then addUse(K.config, uses, 'd') end
commitJobs(K, pend, ARGV[1], written)
countEnqueued(K, out, 3 + n * 6)
local events = written and eventsOn(K.jobs, cfg[WATCH] or 0, now)
if events then
  local added = {}
  for i = 1, #out, 2 do
    if out[i] == 1 then added[#added + 1] = { type = 'enqueued', id = out[i + 1], attempt = 0 } end
  end
  publishEvents(events, K.jobs, now, added)
end
return out

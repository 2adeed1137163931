--[[
  fire: claims one tick of a cron schedule and enqueues its run, or passes the tick over.

  Guarantee: a tick is claimed by compare-and-set on the schedule's cursor, in the same
  script that enqueues the run, so however many schedulers run (and whenever they
  restart) each tick is claimed once and creates at most one job. A run is enqueued
  exactly as enqueue does (includes/addJob.lua), with the id `sched:<name>:<tick ms>`.

  Keys:
    K.schedules   hash  name -> spec json (see schedput)
    K.schedstate  hash  name -> state (see includes/readState.lua)
    K.jobs  K.pending  K.delayed  K.dprio  K.seq  K.config  K.dedupe  K.dk  K.running
    K.enqueued  hash  "<priority>\n<job name>" -> jobs created (as enqueue counts them)

  ARGV[1] wake channel
  ARGV[2] schedule name
  ARGV[3] mode: tick (run the tick), skip (pass it over), init (set the cursor to
          ARGV[4], the scheduler's now), trigger (a run now, outside the tick sequence:
          ignores the cursor, suspend and the concurrency policy)
  ARGV[4] tick ms (tick, skip) or now ms (init)
  ARGV[5] expected cursor: the state the caller computed from ("" when unset)
  ARGV[6] ticks passed over before this one, added to `missed`
  ARGV[7] next tick ms after this one
  ARGV[8] job id (tick, trigger)

  Returns {code, job id or ""}: 1 enqueued; 0 stale (the cursor moved: another scheduler
  got there first; nothing written); 2 passed over (missed counted); 3 suspended (the tick
  is consumed, no run); 4 forbidden (the previous run is unfinished and the policy is
  Forbid: the tick is consumed and counted as skipped); 5 initialised; 6 the payload is
  over the queue's max_payload_bytes (the tick is consumed and counted as missed);
  7 the job id exists already (the tick is consumed).
  Errors (nothing written): {-4} no such schedule; {-10} (trigger only) the payload is
  over the queue's max_payload_bytes.
  Events: PUBLISH to the wake channel when a job was enqueued.
]]
--@include nowMs
--@include config
--@include bodyFits
--@include addJob
--@include commitJobs
--@include readState
--@include writeState
--@include eventsOn
--@include publishEvents

local name, mode, at, jobId = ARGV[2], ARGV[3], ARGV[4], ARGV[8]
local raw = redis.call('HGET', K.schedules, name)
if not raw then return { -4, '' } end
local spec = cjson.decode(raw)
local state = readState(redis.call('HGET', K.schedstate, name))

if mode ~= 'trigger' then
  if state.cursor ~= ARGV[5] then return { 0, '' } end
  state.cursor = at
  state.nxt = ARGV[7]
  if mode == 'init' then
    writeState(K.schedstate, name, state)
    return { 5, '' }
  end
  if spec.suspend then
    writeState(K.schedstate, name, state)
    return { 3, '' }
  end
  state.missed = state.missed + tonumber(ARGV[6])
  if mode == 'skip' then
    writeState(K.schedstate, name, state)
    return { 2, '' }
  end
  if spec.policy == 'Forbid' and state.job ~= '' and (
      redis.call('ZSCORE', K.pending, state.job) or redis.call('ZSCORE', K.delayed, state.job)
      or redis.call('ZSCORE', K.running, state.job)) then
    state.skipped = state.skipped + 1
    writeState(K.schedstate, name, state)
    return { 4, '' }
  end
end

local cfg = readConfig(K.config, { 'max_payload_bytes' })
if not bodyFits(spec.body, cfg.max_payload_bytes) then
  if mode == 'trigger' then return { -10, '' } end
  state.missed = state.missed + 1
  writeState(K.schedstate, name, state)
  return { 6, '' }
end

local pend = {}
local code = addJob(K, nowMs(), redis.call('INCR', K.seq), jobId, spec.priority, -1, -1, '',
  spec.body, pend)
commitJobs(K, pend, ARGV[1], code == 1)
if code == 1 then redis.call('HINCRBY', K.enqueued, spec.priority .. '\n' .. spec.job, 1) end
if code ~= 1 then
  writeState(K.schedstate, name, state)
  return { 7, jobId }
end
publishEvents(eventsOn(K.jobs), K.jobs, nowMs(),
  { { type = 'enqueued', id = jobId, attempt = 0 } })
if mode == 'tick' then state.last = at end
state.fired = state.fired + 1
state.job = jobId
writeState(K.schedstate, name, state)
return { 1, jobId }

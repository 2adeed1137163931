--[[
  fire: claims one tick of a cron schedule and enqueues its run, or passes the tick over.

  Guarantee: a tick is claimed by compare-and-set on the schedule's cursor, in the same
  script that enqueues the run, so however many schedulers run (and whenever they
  restart) each tick is claimed once and creates at most one job. A run is enqueued
  exactly as enqueue does (includes/addjob.lua), with the id `sched:<name>:<tick ms>`.

  KEYS[1]  schedules   hash  name -> spec json (see schedput)
  KEYS[2]  schedstate  hash  name -> state (see includes/schedule.lua)
  KEYS[3]  jobs        KEYS[4] pending   KEYS[5] delayed   KEYS[6] dprio
  KEYS[7]  seq         KEYS[8] config    KEYS[9] dedupe    KEYS[10] dk
  KEYS[11] running

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
--@include common
--@include addjob
--@include schedule

local name, mode, at, jobId = ARGV[2], ARGV[3], ARGV[4], ARGV[8]
local raw = redis.call('HGET', KEYS[1], name)
if not raw then return { -4, '' } end
local spec = cjson.decode(raw)
local state = readState(redis.call('HGET', KEYS[2], name))

if mode ~= 'trigger' then
  if state.cursor ~= ARGV[5] then return { 0, '' } end
  state.cursor = at
  state.nxt = ARGV[7]
  if mode == 'init' then
    writeState(KEYS[2], name, state)
    return { 5, '' }
  end
  if spec.suspend then
    writeState(KEYS[2], name, state)
    return { 3, '' }
  end
  state.missed = state.missed + tonumber(ARGV[6])
  if mode == 'skip' then
    writeState(KEYS[2], name, state)
    return { 2, '' }
  end
  if spec.policy == 'Forbid' and state.job ~= '' and (
      redis.call('ZSCORE', KEYS[4], state.job) or redis.call('ZSCORE', KEYS[5], state.job)
      or redis.call('ZSCORE', KEYS[11], state.job)) then
    state.skipped = state.skipped + 1
    writeState(KEYS[2], name, state)
    return { 4, '' }
  end
end

local cfg = redis.call('HMGET', KEYS[8], 'max_payload_bytes')
if not bodyFits(spec.body, configNumber(cfg, 1, 524288)) then
  if mode == 'trigger' then return { -10, '' } end
  state.missed = state.missed + 1
  writeState(KEYS[2], name, state)
  return { 6, '' }
end

local K = {
  jobs = KEYS[3], pending = KEYS[4], delayed = KEYS[5], dprio = KEYS[6],
  dedupe = KEYS[9], dk = KEYS[10],
}
local pend = {}
local code = addJob(K, nowMs(), redis.call('INCR', KEYS[7]), jobId, spec.priority, -1, -1, '',
  spec.body, pend)
commitJobs(K, pend, ARGV[1], code == 1)
if code ~= 1 then
  writeState(KEYS[2], name, state)
  return { 7, jobId }
end
if mode == 'tick' then state.last = at end
state.fired = state.fired + 1
state.job = jobId
writeState(KEYS[2], name, state)
return { 1, jobId }

--[[
  dropqueue: deletes every key of one queue, its jobs with all their data and its config.

  Guarantee: all or nothing. Refused while jobs of the queue are running (their workers
  would report outcomes into a queue that no longer exists) unless forced, and while cron
  schedules enqueue to it (they would recreate it at their next tick).

  Keys: K.jobs  K.pending  K.delayed  K.dprio  K.running  K.lease  K.att  K.hist
    K.completed  K.dead  K.cancelled  K.result  K.reason  K.dedupe  K.dk  K.cancelreq  K.seq
    K.config  K.recovery  K.policy  K.limiter  K.keyrate  K.keyrun  K.rkey  K.progress
    K.since  K.enqueued  K.waiting  K.deps  K.dependants  (every data key of the queue)
    K.schedules  hash  the queue's cron schedules (only read)

  ARGV[1] "force": delete even while jobs are running

  Returns the number of jobs deleted; -6 jobs are running; -7 the queue has schedules.
]]

if redis.call('HLEN', K.schedules) > 0 then return -7 end
if ARGV[1] ~= 'force' and redis.call('ZCARD', K.running) > 0 then return -6 end
local jobs = redis.call('HLEN', K.jobs)
local doomed = {}
for name, key in pairs(K) do
  if name ~= 'schedules' then doomed[#doomed + 1] = key end
end
redis.call('DEL', unpack(doomed))
return jobs

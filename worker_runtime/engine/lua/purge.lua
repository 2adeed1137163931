--[[
  purge: deletes the jobs of one state of one queue, with all their data.

  Guarantee: a job is removed from its state set and from every data hash in one step,
  its dedupe key is released, and its waiting dependants learn that it is gone
  (settleDependants: their policy applies; `wait` becomes cancel, nothing is left to
  retry); a purged running job's completion is refused later (its lease is gone). At most ARGV[1] jobs per call: callers loop until it returns 0.

  Keys: K.state, the state's sorted set (pending, delayed, running, completed, dead,
  cancelled, waiting); K.jobs  K.hist  K.result  K.reason  K.att  K.dedupe  K.dk  K.dprio  K.lease
  K.cancelreq  K.progress  K.rkey  K.keyrun  K.since  K.deps  K.dependants
  Dependants (settleDependants): K.waiting  K.pending  K.delayed  K.seq  K.cancelled  K.config

  ARGV[1] max jobs per call
  ARGV[2] age ms: only jobs whose score (finish time) is older than now - age;
          -1 for every job in the set

  Returns the number of jobs deleted.
]]
--@include nowMs
--@include releaseDedupe
--@include releaseKeySlots
--@include finishConfig
--@include config
--@include settleDependants

local ids
if tonumber(ARGV[2]) < 0 then
  ids = redis.call('ZRANGE', K.state, 0, tonumber(ARGV[1]) - 1)
else
  ids = redis.call('ZRANGEBYSCORE', K.state, '-inf', nowMs() - tonumber(ARGV[2]),
    'LIMIT', 0, tonumber(ARGV[1]))
end
if #ids == 0 then return 0 end
for _, id in ipairs(ids) do releaseDedupe(K.dedupe, K.dk, id) end
releaseKeySlots(K, ids)
redis.call('ZREM', K.state, unpack(ids))
-- After leaving their set (a dependant purged in the same call is not cancelled into
-- another), before their lists of dependants are deleted.
settleDependants(K, ids, 'purged', nowMs(), readConfig(K.config, FINISH_CONFIG))
for _, k in ipairs({ K.jobs, K.hist, K.result, K.reason, K.att, K.dprio, K.lease, K.progress,
  K.since, K.deps, K.dependants }) do
  redis.call('HDEL', k, unpack(ids))
end
redis.call('SREM', K.cancelreq, unpack(ids))
return #ids

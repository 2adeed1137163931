-- The terminal move to `cancelled`, shared by complete, fail, recover, release and cancel.
-- K holds the calling script's keys; cfg holds the fields of FINISH_CONFIG; reason is
-- 'Cancelled' unless given (a dependant cancelled by its policy: 'DependencyFailed').
--@include releaseDedupe
--@include trimFinished

local function toCancelled(K, id, now, cfg, reason)
  redis.call('ZADD', K.cancelled, now, id)
  redis.call('HSET', K.reason, id, reason or 'Cancelled')
  redis.call('SREM', K.cancelreq, id)
  redis.call('HDEL', K.att, id)
  releaseDedupe(K.dedupe, K.dk, id)
  trimFinished(K.cancelled, now, cfg.result_ttl_ms, cfg.keep_completed, 100,
    { K.jobs, K.hist, K.result, K.reason, K.progress, K.deps, K.dependants })
end

-- The terminal move to the dead letters, shared by fail and recover.
-- K holds the calling script's keys; cfg holds the fields of FINISH_CONFIG.
--@include releaseDedupe
--@include trimFinished

local function toDead(K, id, now, reason, cfg)
  redis.call('ZADD', K.dead, now, id)
  redis.call('HSET', K.reason, id, reason)
  redis.call('HDEL', K.att, id)
  releaseDedupe(K.dedupe, K.dk, id)
  trimFinished(K.dead, now, cfg.dead_ttl_ms, cfg.keep_dead, 100,
    { K.jobs, K.hist, K.result, K.reason, K.progress, K.deps, K.dependants })
end

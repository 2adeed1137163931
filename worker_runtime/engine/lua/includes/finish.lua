-- Terminal moves shared by complete, fail, recover, release and cancel.
-- Expects the calling script to define K (a table of key names) and now.

local function toCancelled(K, id, now, cfg)
  redis.call('ZADD', K.cancelled, now, id)
  redis.call('HSET', K.reason, id, 'Cancelled')
  redis.call('SREM', K.cancelreq, id)
  redis.call('HDEL', K.att, id)
  releaseDedupe(K.dedupe, K.dk, id)
  trimFinished(K.cancelled, now, configNumber(cfg, 1, 86400000), configNumber(cfg, 2, 10000), 100,
    { K.jobs, K.hist, K.result, K.reason, K.progress })
end

local function toDead(K, id, now, reason, cfg)
  redis.call('ZADD', K.dead, now, id)
  redis.call('HSET', K.reason, id, reason)
  redis.call('HDEL', K.att, id)
  releaseDedupe(K.dedupe, K.dk, id)
  trimFinished(K.dead, now, configNumber(cfg, 3, 2592000000), configNumber(cfg, 4, 100000), 100,
    { K.jobs, K.hist, K.result, K.reason, K.progress })
end

-- The config fields that toCancelled and toDead read, in this order.
local FINISH_CONFIG = { 'result_ttl_ms', 'keep_completed', 'dead_ttl_ms', 'keep_dead' }

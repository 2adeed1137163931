-- The config fields that toCancelled and toDead read.
local FINISH_CONFIG = { 'result_ttl_ms', 'keep_completed', 'dead_ttl_ms', 'keep_dead' }

-- Stores a schedule's state (see readState).
--@include fmt

local function writeState(key, name, s)
  redis.call('HSET', key, name, table.concat({ s.cursor, s.last, s.nxt, fmt(s.missed),
    fmt(s.fired), fmt(s.skipped), s.job }, '|'))
end

-- Schedule state, one string per schedule in the `schedstate` hash:
-- "<cursor>|<last tick>|<next tick>|<missed>|<fired>|<skipped>|<last job id>".
-- cursor: ticks at or before it are done (fired or passed over); "" until a scheduler
-- first sees the schedule. Times in ms; "" for unknown.
local function readState(v)
  if not v then return { cursor = '', last = '', nxt = '', missed = 0, fired = 0, skipped = 0, job = '' } end
  local cursor, last, nxt, missed, fired, skipped, job =
    string.match(v, '^([^|]*)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)|(.*)$')
  return { cursor = cursor, last = last, nxt = nxt, missed = tonumber(missed),
           fired = tonumber(fired), skipped = tonumber(skipped), job = job }
end

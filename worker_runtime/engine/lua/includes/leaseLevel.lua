-- The priority level a running job was claimed at (aging may have raised it), from the
-- pending score kept in its lease; nil when a foreign writer left something unreadable.
--@include prioSpan

local function leaseLevel(pscore)
  local s = tonumber(pscore)
  if s == nil or s ~= s or s < 0 or s >= 11 * PRIO_SPAN then return nil end
  return math.floor(s / PRIO_SPAN)
end

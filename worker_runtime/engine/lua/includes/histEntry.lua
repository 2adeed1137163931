-- One finished attempt, as stored (comma-joined) in the `hist` hash; `level` is the
-- priority it ran at (nil: unknown).
local function histEntry(attempt, worker, start, finish, outcome, reason, err, level)
  local e = { a = attempt, w = worker, s = start, e = finish, o = outcome, p = level }
  if reason and reason ~= '' then e.r = reason end
  if err and err ~= '' then e.err = err end
  return cjson.encode(e)
end

-- Lease layout in the `lease` hash: "<token>|<worker>|<attempt>|<start_ms>|<pending score>".
-- Any score Redis accepted (negative, inf) round-trips; a lease that does not parse
-- returns nils, which callers treat as unusable rather than erroring halfway.
local function splitLease(v)
  local token, worker, attempt, start, pscore =
    string.match(v, '^([^|]*)|(.*)|(%d+)|(%d+)|([^|]+)$')
  return token, worker, tonumber(attempt), tonumber(start), pscore
end

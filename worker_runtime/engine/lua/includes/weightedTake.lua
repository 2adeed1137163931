-- Weighted fairness by stride scheduling: each band's pass grows by 1/weight per job it
-- gets; the band with the lowest pass goes next. Passes persist in the policy hash, so
-- shares hold across calls of any size; a band that was empty rejoins at the current
-- minimum, never with a backlog of credit.
local function weightedTake(policyKey, bands, weights, want)
  -- Nothing pending: HMGET with no fields is an error ("wrong number of args").
  if #bands == 0 then return {} end
  local passes, minPass = {}, nil
  local fields = {}
  for _, b in ipairs(bands) do fields[#fields + 1] = 'pass:' .. b[1] end
  local stored = redis.call('HMGET', policyKey, unpack(fields))
  for i, b in ipairs(bands) do
    local v = tonumber(stored[i])
    passes[b[1]] = v
    if v and (minPass == nil or v < minPass) then minPass = v end
  end
  minPass = minPass or 0
  local take, left = {}, {}
  for _, b in ipairs(bands) do
    if passes[b[1]] == nil or passes[b[1]] < minPass then passes[b[1]] = minPass end
    take[b[1]] = 0
    left[b[1]] = b[2]
  end
  for _ = 1, want do
    local best = nil
    for _, b in ipairs(bands) do
      local p = b[1]
      if left[p] > 0 and (best == nil or passes[p] < passes[best]) then best = p end
    end
    if best == nil then break end
    local w = weights[best] or 1
    if w <= 0 then w = 0.001 end
    passes[best] = passes[best] + 1 / w
    take[best] = take[best] + 1
    left[best] = left[best] - 1
  end
  local args = {}
  for _, b in ipairs(bands) do
    args[#args + 1] = 'pass:' .. b[1]
    args[#args + 1] = tostring(passes[b[1]])
  end
  redis.call('HSET', policyKey, unpack(args))
  return take
end

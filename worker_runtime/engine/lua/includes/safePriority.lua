-- A priority read from a record a foreign producer may have written: 0-10 or NORMAL.
local function safePriority(p)
  p = tonumber(p)
  if p == nil or p ~= p or p < 0 or p > 10 then return 5 end
  return math.floor(p)
end

-- The options line of a record ("" when malformed), for pattern searches that must not
-- look into the payload.
local function metaLine(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  if not b then return '' end
  return string.sub(rec, a + 1, b - 1)
end

-- Weighted fairness: "level:weight,..." as {[level] = weight}; "" reads as the default.
--@include configDefaults

local function parseWeights(text)
  if not text or text == '' then text = CONFIG_DEFAULTS.weights end
  local out = {}
  for a, b in string.gmatch(text, '([^,:]+):([^,]+)') do out[tonumber(a)] = tonumber(b) end
  return out
end

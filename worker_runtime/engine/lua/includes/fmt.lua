-- An integer as Redis wants it: tostring gives 1e+13 for large numbers.
local function fmt(n)
  return string.format('%.0f', n)
end

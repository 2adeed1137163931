-- Aging rules: "from:to:after_ms,..." as {[from] = {to, after}}.
local function parseAgingRules(text)
  local rules = {}
  for a, b, c in string.gmatch(text, '(%d+):(%d+):(%d+)') do
    rules[tonumber(a)] = { to = tonumber(b), after = tonumber(c) }
  end
  return rules
end

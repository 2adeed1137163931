-- The level a job of original priority p reaches after waiting w ms: each rule's wait
-- counts from the previous promotion, so LOW reaches HIGH only after 30 + 15 minutes.
local function agedLevel(rules, p, w)
  local level, spent, steps = p, 0, 0
  while rules[level] and steps < 11 do
    local r = rules[level]
    if w < spent + r.after then break end
    spent = spent + r.after
    level = r.to
    steps = steps + 1
  end
  return level
end

-- The payload part of a body ("<meta json>\n<payload json>") is well-formed and within limit.
local function bodyFits(body, limit)
  local nl = string.find(body, '\n', 1, true)
  return nl ~= nil and #body - nl <= limit
end

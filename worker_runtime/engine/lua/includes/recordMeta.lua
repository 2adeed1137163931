-- Job record layout in the `jobs` hash: "<enqueued_ms>\n<meta json>\n<payload json>".
-- A record written by a foreign producer may be malformed: an error here would abort a
-- script halfway through its writes, so a bad record reads as empty options instead.
local function recordMeta(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  if not b then return {} end
  local ok, meta = pcall(cjson.decode, string.sub(rec, a + 1, b - 1))
  if ok and type(meta) == 'table' then return meta end
  return {}
end

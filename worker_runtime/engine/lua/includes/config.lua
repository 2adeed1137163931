-- Reads fields of a queue's config hash by name, in one HMGET: cfg.<field>, numeric
-- fields as numbers and the others as stored. An unset field (or a number that does not
-- parse) reads as its default from models.QueueConfig, or nil when it has none.
--@include configDefaults

local function readConfig(key, fields)
  local raw = redis.call('HMGET', key, unpack(fields))
  local cfg = {}
  for i, f in ipairs(fields) do
    local v = raw[i]
    if CONFIG_NUMBERS[f] then v = tonumber(v) end
    if v == nil or v == false then v = CONFIG_DEFAULTS[f] end
    cfg[f] = v
  end
  return cfg
end

-- Records starts in a sliding log (see windowAllowance).
local function windowCharge(logKey, now, period, members)
  if #members == 0 then return end
  local args = {}
  for _, m in ipairs(members) do
    args[#args + 1] = now
    args[#args + 1] = m
  end
  redis.call('ZADD', logKey, unpack(args))
  redis.call('PEXPIRE', logKey, period + 1000)
end

-- Adds the jobs this call created to K.enqueued (blackroad_jobs_enqueued_total). ARGV[first]
-- is m, the number of runs of consecutive jobs sharing a counter field, then m pairs (field,
-- run length); `out` is the script's {code, id, ...} reply (code 1: created). One HINCRBY per
-- distinct field, so a bulk enqueue of one name and priority costs one command.
local function countEnqueued(K, out, first)
  local at, made = 0, {}
  for r = first + 1, first + 2 * (tonumber(ARGV[first]) or 0), 2 do
    for i = at + 1, at + tonumber(ARGV[r + 1]) do
      if out[2 * i - 1] == 1 then made[ARGV[r]] = (made[ARGV[r]] or 0) + 1 end
    end
    at = at + tonumber(ARGV[r + 1])
  end
  for field, count in pairs(made) do redis.call('HINCRBY', K.enqueued, field, count) end
end

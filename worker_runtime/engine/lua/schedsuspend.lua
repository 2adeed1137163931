--[[
  schedsuspend: suspends or resumes one cron schedule.

  Guarantee: only the `suspend` field of the stored definition changes. While suspended,
  schedulers pass its ticks over without running them or counting them as missed.

  Keys: K.schedules  hash  name -> spec json

  ARGV[1] name
  ARGV[2] 1 to suspend, 0 to resume

  Returns 1 changed, 0 already so. Errors: -4 no such schedule (nothing written).
]]
local raw = redis.call('HGET', K.schedules, ARGV[1])
if not raw then return -4 end
local spec = cjson.decode(raw)
local want = ARGV[2] == '1'
if spec.suspend == want then return 0 end
spec.suspend = want
redis.call('HSET', K.schedules, ARGV[1], cjson.encode(spec))
return 1

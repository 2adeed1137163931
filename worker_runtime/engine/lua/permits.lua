--[[
  permits: the two steps of a shared rate limiter on a Redis Cluster, where the limiter's
  slot is not the queue's and one script cannot touch both: `take` permits before a claim
  (on the limiter's slot), `settle` them after it.

  Guarantee: never more than `limit` permits in any window of `period` ms (the sliding log
  of windowAllowance). A claim that took N permits starts at most N jobs, so every start
  has a permit logged before it. `settle` removes the permits a claim did not use and
  re-stamps the used ones at their start (never earlier than taken), so the log counts
  each start from when it happened. A worker that dies between the steps leaves its
  permits logged until they age out: under-use, never over-use.

  Keys: K.shared_limiter  hash  limit, period of the limiter
    K.limiter  zset  its log: one member per permit, scored by its time

  ARGV[1] mode: take | settle
  ARGV[2] the permits' prefix, unique per take: members are "<prefix>:<n>", n = 1..taken
  take:   ARGV[3] permits wanted
  settle: ARGV[3] permits taken, ARGV[4] permits used (started jobs), ARGV[5] when they
          started (ms on the queue master's clock; -1: unknown)

  Returns take: {granted, ms until a permit frees (when none was granted), now}; a limiter
  that is not defined grants every permit (as a claim on its slot limits nothing then).
  settle: {permits handed back}.
]]
--@include nowMs
--@include fmt
--@include windowAllowance
--@include windowCharge

local now = nowMs()
local def = redis.call('HMGET', K.shared_limiter, 'limit', 'period')
local limit, period = tonumber(def[1]), tonumber(def[2]) or 1000
local prefix = ARGV[2]

if ARGV[1] == 'take' then
  local want = tonumber(ARGV[3])
  if not limit then return { want, 0, now } end
  local granted, retry = windowAllowance(K.limiter, now, limit, period, want)
  local members = {}
  for i = 1, granted do members[i] = prefix .. ':' .. i end
  windowCharge(K.limiter, now, period, members)
  return { granted, retry, now }
end

local taken, used, at = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local gone = {}
for i = used + 1, taken do gone[#gone + 1] = prefix .. ':' .. i end
if #gone > 0 then redis.call('ZREM', K.limiter, unpack(gone)) end
if used > 0 and at >= 0 then
  local args = {}
  for i = 1, used do
    args[#args + 1] = fmt(at)
    args[#args + 1] = prefix .. ':' .. i
  end
  redis.call('ZADD', K.limiter, 'XX', 'GT', unpack(args))
  redis.call('PEXPIRE', K.limiter, period + 1000 + math.max(0, at - now))
end
return { #gone }

--[[
  ownerreplace: hands an engine queue to a new managing JobQueue, unless a live one other
  than the stale holder took it meanwhile (the operator's claims).

  Guarantee: compare-and-set: written only when the queue is unclaimed or still held by
  ARGV[2].

  Keys: K.claims  hash  queue name -> "namespace/name/uid" of the JobQueue managing it

  ARGV[1] queue name  ARGV[2] the stale holder  ARGV[3] the new owner

  Returns 1 replaced, 0 held by someone else (nothing written).
]]
local cur = redis.call('HGET', K.claims, ARGV[1])
if cur == false or cur == ARGV[2] then
  redis.call('HSET', K.claims, ARGV[1], ARGV[3])
  return 1
end
return 0

--[[
  ownerrelease: gives up the operator's claim on an engine queue.

  Guarantee: only the holder's claim is removed; another owner's is left alone.

  Keys: K.claims  hash  queue name -> "namespace/name/uid" of the JobQueue managing it

  ARGV[1] queue name  ARGV[2] the owner giving it up

  Returns 1 released, 0 not held by that owner.
]]
if redis.call('HGET', K.claims, ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', K.claims, ARGV[1])
end
return 0

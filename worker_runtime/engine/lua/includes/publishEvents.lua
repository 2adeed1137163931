-- Publishes the events of one script call as ONE message, {"at": ms, "events": [...]},
-- each event a table {type=, id=, attempt=, ...}. Events without a name get it from their
-- record here; a script that may trim a record first names its events before the move.
--@include recordMeta

local function publishEvents(channel, jobsKey, now, events)
  if not channel or #events == 0 then return end
  local ids, at = {}, {}
  for i, e in ipairs(events) do
    if e.name == nil then
      ids[#ids + 1] = e.id
      at[#at + 1] = i
    end
  end
  if #ids > 0 then
    local recs = redis.call('HMGET', jobsKey, unpack(ids))
    for j, i in ipairs(at) do
      if recs[j] then events[i].name = recordMeta(recs[j]).n end
    end
  end
  redis.call('PUBLISH', channel, cjson.encode({ at = now, events = events }))
end

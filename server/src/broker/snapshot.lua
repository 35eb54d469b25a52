-- A channel as a subscriber finds it: its newest offset and, when asked,
-- every message still kept (not older than the age limit), oldest first.
--
-- KEYS[1]  the channel's offset counter
-- KEYS[2]  the channel's stream
-- ARGV[1]  "1" to return the kept messages, "0" for the offset only
-- ARGV[2]  longest a message is kept, in milliseconds
--
-- Returns {newest offset, offset, data, offset, data, ...}.
local result = {tonumber(redis.call('GET', KEYS[1]) or '0')}
if ARGV[1] ~= '1' then
  return result
end
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local oldest_ms = now_ms - tonumber(ARGV[2])
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do
  local fields = {}
  for index = 1, #entry[2], 2 do
    fields[entry[2][index]] = entry[2][index + 1]
  end
  if tonumber(fields.t) >= oldest_ms then
    table.insert(result, tonumber(string.match(entry[1], '^0%-(%d+)$')))
    table.insert(result, fields.d)
  end
end
return result

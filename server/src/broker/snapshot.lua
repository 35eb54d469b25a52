-- A channel as a subscriber finds it: its newest offset and epoch and, when
-- asked, what a subscriber resuming after `since` needs: the oldest offset
-- kept, and the messages from since + 1 on, or every kept message when its
-- offsets belong to another history (the rule of `history::is_reset`).
--
-- Messages older than the age limit are deleted from the front of the
-- stream as they are found, so the oldest kept one is the first.
--
-- KEYS[1]  tabwire:{<channel>}:meta, a hash: offset, epoch
-- KEYS[2]  tabwire:{<channel>}:history, the stream
-- ARGV[1]  a new random epoch, taken if the channel has none yet
-- ARGV[2]  "1" to return the messages, "0" for the offset and epoch only
-- ARGV[3]  longest a message is kept, in milliseconds
-- ARGV[4]  since: the subscriber's newest offset
-- ARGV[5]  the epoch the subscriber knows, or "" if it names none
--
-- Returns {newest offset, epoch} or
-- {newest offset, epoch, oldest kept offset (0: none), offset, data, ...}.
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local meta = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
local newest = tonumber(meta[1] or '0')
local epoch = meta[2]
local result = {newest, epoch}
if ARGV[2] ~= '1' then
  return result
end

local function fields(entry)
  local named = {}
  for index = 1, #entry[2], 2 do
    named[entry[2][index]] = entry[2][index + 1]
  end
  return named
end
local function offset_of(entry)
  return tonumber(string.match(entry[1], '^0%-(%d+)$'))
end

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local oldest_ms = now_ms - tonumber(ARGV[3])
local oldest = 0
while true do
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if not first then
    break
  end
  if tonumber(fields(first).t) >= oldest_ms then
    oldest = offset_of(first)
    break
  end
  redis.call('XDEL', KEYS[2], first[1])
end
table.insert(result, oldest)

local since = tonumber(ARGV[4])
local reset = (ARGV[5] ~= '' and ARGV[5] ~= epoch) or since > newest
local start = '-'
if not reset then
  start = string.format('0-%d', since + 1)
end
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], start, '+')) do
  table.insert(result, offset_of(entry))
  table.insert(result, fields(entry).d)
end
return result

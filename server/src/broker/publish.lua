-- Numbers, keeps and announces one channel message, atomically, so that
-- offsets, the stream and the announcements of a channel agree in order
-- whichever server instance publishes.
--
-- KEYS[1]  the channel's offset counter
-- KEYS[2]  the channel's stream (its history)
-- KEYS[3]  optional: the client message id, to publish it once
-- KEYS[4]  optional, with KEYS[3]: counts the ids found already published
-- ARGV[1]  the message's data (JSON text)
-- ARGV[2]  most messages the stream keeps
-- ARGV[3]  longest a message is kept, in milliseconds
-- ARGV[4]  the pub/sub channel that announces it to every instance
-- ARGV[5]  how long a message id is remembered, in seconds
--
-- Returns {offset, instances that heard it}, or {0, 0} for an id already
-- published.
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[5]) then
  if KEYS[4] then
    redis.call('INCR', KEYS[4])
  end
  return {0, 0}
end
local offset = redis.call('INCR', KEYS[1])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], string.format('0-%d', offset),
  't', now_ms, 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local instances = redis.call('PUBLISH', ARGV[4], string.format('%d:', offset) .. ARGV[1])
return {offset, instances}

-- Numbers, keeps and announces one channel message, atomically, so that
-- offsets, the stream and the announcements of a channel agree in order
-- whichever server instance publishes.
--
-- Every key shares the channel's hash tag (Redis Cluster). A script that
-- fails halfway keeps what it wrote, so nothing is written until the XADD,
-- the one command that can fail on good input (a key of the wrong type, a
-- stream out of step), has succeeded: a failure leaves nothing behind, and
-- the client's retry publishes. The seen-mark is set only with the stored
-- publication, so a retry is never mistaken for a duplicate.
--
-- KEYS[1]  tabwire:{<channel>}:meta, a hash: offset (the newest), epoch
-- KEYS[2]  tabwire:{<channel>}:history, the stream (ids 0-<offset>)
-- KEYS[3]  optional: tabwire:{<channel>}:seen:<scope>:<id>, the client
--          message id, to publish it once
-- ARGV[1]  the message's data (JSON text)
-- ARGV[2]  most messages the stream keeps
-- ARGV[3]  longest a message is kept, in milliseconds
-- ARGV[4]  the pub/sub channel that announces it to every instance
-- ARGV[5]  how long a message id is remembered, in seconds
-- ARGV[6]  a new random epoch, taken if the channel has none yet
--
-- Returns {offset, instances that heard it}, or {0, 0} for an id already
-- published (the caller counts the duplicate).
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then
  return {0, 0}
end
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset') or '0') + 1
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], string.format('0-%d', offset),
  't', now_ms, 'd', ARGV[1])
redis.call('HSET', KEYS[1], 'offset', offset)
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if KEYS[3] then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[5])
end
local instances = redis.call('PUBLISH', ARGV[4], string.format('%d:', offset) .. ARGV[1])
return {offset, instances}

-- pause.lua: grant nothing on a key for ARGV[1] µs from the server's now;
-- an existing longer pause is kept. KEYS[1] the key's state hash (see
-- acquire.lua), whose expiry is raised to cover the pause.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local d = tonumber(ARGV[1])
local untilt = now + d
local cur = tonumber(redis.call('HGET', KEYS[1], 'pause') or '0')
if untilt > cur then
  redis.call('HSET', KEYS[1], 'pause', string.format('%d', untilt))
  local keep = math.floor(d / 1000) + 1000
  if redis.call('PTTL', KEYS[1]) < keep then
    redis.call('PEXPIRE', KEYS[1], keep)
  end
end
return untilt

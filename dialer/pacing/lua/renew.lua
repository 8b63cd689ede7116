-- renew.lua: extend the leases of this node's slots in one zset.
-- KEYS[1] slots zset; ARGV[1] lease TTL µs; ARGV[2..] slot ids.
-- Plain ZADD (not XX): a slot whose lease lapsed (a long GC pause, a Redis
-- restart) is put back, because the call it paces is still up; the zset may
-- then briefly hold more than MaxChannels, which only delays new grants.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[1])
local exp = string.format('%d', now + ttl)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], exp, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.floor(ttl / 1000) * 2 + 1000)
return #ARGV - 1

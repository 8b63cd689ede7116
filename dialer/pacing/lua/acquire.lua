-- acquire.lua: a batch of atomic pacing decisions, in order, each over one
-- or two levels (the key, then the global key). One script run for many
-- decisions amortises the per-script cost when nodes are busy.
--
-- KEYS[1] is the epoch marker: when Redis lost its data (a restart without
-- persistence, a flush) the marker is gone too, and since the grants of the
-- last second are forgotten, nothing is granted for one second after it is
-- set again (reason 'warmup'), on every node.
-- Then KEYS, per decision, 3 per level:
--   state: hash of tat (GCRA theoretical arrival time, µs), pause (pause
--          end, µs) and wtail (when the grant log is full: its oldest
--          entry, µs),
--   log:   list of the last WindowCap grant times (µs), newest first,
--   slots: zset slot id → lease expiry (µs).
-- ARGV[1] decisions, ARGV[2] lease TTL µs, then per decision: levels, slot
-- id, and 4 per level: emission interval µs, tolerance µs, window cap, max
-- channels.
--
-- Returns {now µs, then per decision: granted 0|1, wait µs, reason}. Time is
-- the Redis server's TIME, so clock skew between nodes does not matter.
-- redis.call() is most of a decision's cost, so a refusal reads each level
-- with two calls (HMGET, ZCARD) and expired slots are purged only when the
-- cap looks reached.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
local out = {now}

local born = tonumber(redis.call('GET', KEYS[1]) or 0)
if born == 0 then
  born = now
  redis.call('SET', KEYS[1], string.format('%d', now))
end
if now < born + 1000000 then
  for _ = 1, tonumber(ARGV[1]) do
    out[#out + 1] = 0; out[#out + 1] = born + 1000000 - now; out[#out + 1] = 'warmup'
  end
  return out
end

-- decide makes one decision whose keys start after KEYS[ko] and arguments
-- (its level count) at ARGV[ao]; it appends the result to out.
local function decide(ko, ao)
  local levels = tonumber(ARGV[ao])
  local slot = ARGV[ao + 1]
  local wait = 0
  local reason = ''
  local full = false
  local tats = {}
  local pauses = {}
  for i = 1, levels do
    local k = ko + 3 * (i - 1)
    local a = ao + 1 + 4 * (i - 1)
    local interval = tonumber(ARGV[a + 1])
    local maxch = tonumber(ARGV[a + 4])
    local st = redis.call('HMGET', KEYS[k + 1], 'tat', 'pause', 'wtail')
    local p = tonumber(st[2] or 0)
    pauses[i] = p
    if p - now > wait then wait = p - now; reason = 'paused' end
    if maxch > 0 and redis.call('ZCARD', KEYS[k + 3]) >= maxch then
      redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now)
      if redis.call('ZCARD', KEYS[k + 3]) >= maxch then full = true end
    end
    if interval > 0 then
      local tat = tonumber(st[1] or now)
      if tat < now then tat = now end
      local d = tat - tonumber(ARGV[a + 2]) - now
      if d > wait then wait = d; reason = 'cps' end
      tats[i] = tat + interval
      if st[3] then
        d = tonumber(st[3]) + 1000000 - now
        if d > wait then wait = d; reason = 'window' end
      end
    end
  end
  if full then reason = 'channels' end
  if wait > 0 or full then
    out[#out + 1] = 0; out[#out + 1] = wait; out[#out + 1] = reason
    return levels
  end
  for i = 1, levels do
    local k = ko + 3 * (i - 1)
    local a = ao + 1 + 4 * (i - 1)
    if tonumber(ARGV[a + 1]) > 0 then
      local tat = tats[i]
      local cap = tonumber(ARGV[a + 3])
      local n = redis.call('LPUSH', KEYS[k + 2], string.format('%d', now))
      if n > cap then
        redis.call('LTRIM', KEYS[k + 2], 0, cap - 1)
      end
      redis.call('PEXPIRE', KEYS[k + 2], 2000)
      if n >= cap then
        redis.call('HSET', KEYS[k + 1], 'tat', string.format('%d', tat),
          'wtail', redis.call('LINDEX', KEYS[k + 2], -1))
      else
        redis.call('HSET', KEYS[k + 1], 'tat', string.format('%d', tat))
      end
      -- The hash lives as long as its tat, its pause or its window matter
      -- (at least 1 s after this grant).
      local keep = math.max(tat, pauses[i]) - now
      redis.call('PEXPIRE', KEYS[k + 1], math.floor(keep / 1000) + 1000)
    end
    if tonumber(ARGV[a + 4]) > 0 then
      redis.call('ZADD', KEYS[k + 3], string.format('%d', now + ttl), slot)
      redis.call('PEXPIRE', KEYS[k + 3], math.floor(ttl / 1000) * 2 + 1000)
    end
  end
  out[#out + 1] = 1; out[#out + 1] = 0; out[#out + 1] = ''
  return levels
end

local ko, ao = 1, 3
for _ = 1, tonumber(ARGV[1]) do
  local levels = decide(ko, ao)
  ko = ko + 3 * levels
  ao = ao + 2 + 4 * levels
end
return out

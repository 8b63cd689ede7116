-- acquire.lua: a batch of atomic pacing decisions, made in order as if each
-- were its own script run, each over one or two levels (the key, then the
-- global key). One run for many decisions amortises the per-script cost;
-- every level's state is read once per run and written once per run, so a
-- batch of N decisions on K distinct levels costs about K to 2K calls for
-- the refusals plus about 7 per level that granted anything.
--
-- KEYS[1] is the epoch marker: when Redis lost its data (a restart without
-- persistence, a flush) the marker is gone too, and since the grants of the
-- last second are forgotten, nothing is granted for one second after it is
-- set again (reason 'warmup'), on every node.
-- Then KEYS, 3 per level of this run:
--   state: hash of tat (GCRA theoretical arrival time, µs), pause (pause
--          end, µs) and wtail (when the grant log is full: its oldest
--          entry, µs),
--   log:   list of the last WindowCap grant times (µs), newest first,
--   slots: zset slot id → lease expiry (µs).
-- ARGV: [1] lease TTL µs, [2] slot id prefix, [3] first slot number (the
-- i-th decision's slot is prefix..(first+i-1)), [4] L levels, [5] the
-- global level's index (0: none); then 4 per level: emission interval µs,
-- tolerance µs, window cap, max channels; then one per decision: the index
-- of its key's level (the global level is added unless it is that level).
--
-- Returns {now µs, then per decision: code, wait µs}, code 0 granted,
-- 1 cps, 2 window, 3 channels, 4 paused, 5 warmup. Time is the Redis
-- server's TIME, so clock skew between nodes does not matter. The stored
-- format is the one every version of this script shares.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[1])
local nlv = tonumber(ARGV[4])
local glv = tonumber(ARGV[5])
local d0 = 5 + 4 * nlv
local nd = #ARGV - d0
local out = {now}

local born = tonumber(redis.call('GET', KEYS[1]) or 0)
if born == 0 then
  born = now
  redis.call('SET', KEYS[1], string.format('%d', now))
end
if now < born + 1000000 then
  for _ = 1, nd do
    out[#out + 1] = 5; out[#out + 1] = born + 1000000 - now
  end
  return out
end

-- Per level: its limits, its state as read once, and this run's changes.
local lv = {}
for l = 1, nlv do
  local a = 5 + 4 * (l - 1)
  lv[l] = {k = 1 + 3 * (l - 1), interval = tonumber(ARGV[a + 1]), tol = tonumber(ARGV[a + 2]),
    cap = tonumber(ARGV[a + 3]), maxch = tonumber(ARGV[a + 4]), n = 0, g = 0, slots = {}}
end
for i = 1, nd do
  local l = tonumber(ARGV[d0 + i])
  lv[l].n = lv[l].n + 1
  if glv > 0 and l ~= glv then lv[glv].n = lv[glv].n + 1 end
end

local function load(s)
  if s.loaded then return end
  s.loaded = true
  local st = redis.call('HMGET', KEYS[s.k + 1], 'tat', 'pause', 'wtail')
  s.tat = tonumber(st[1] or 0)
  s.pause = tonumber(st[2] or 0)
  s.wtail = st[3] and tonumber(st[3])
end

-- tail is the oldest of the last cap grants after this run's s.g grants,
-- had each been pushed on the log at once (nil while the log is short of
-- cap, when the stored wtail, if any, is over a second old).
local function tail(s)
  if s.g == 0 then return s.wtail end
  if s.g >= s.cap then return now end
  if not s.old then
    -- Entry cap-1-g of the log before this run, for each g it can reach.
    s.lo = math.max(s.cap - 1 - s.n, 0)
    s.old = redis.call('LRANGE', KEYS[s.k + 2], s.lo, s.cap - 2)
  end
  local v = s.old[s.cap - 1 - s.g - s.lo + 1]
  if v then return tonumber(v) end
  return s.wtail
end

-- A decision is refused by the longest timed wait of its levels (pause,
-- cps, window: these only lift with time) or, when there is none, by a
-- full level (channels: lifts on a release). The channel count is read only
-- when no timed wait refuses, so a run refusing a level on time alone
-- never reads its slots.
local ls = {}
for i = 1, nd do
  local l = tonumber(ARGV[d0 + i])
  ls[1] = lv[l]
  ls[2] = nil
  if glv > 0 and l ~= glv then ls[2] = lv[glv] end
  local wait, code = 0, 0
  for _, s in ipairs(ls) do
    load(s)
    if s.pause - now > wait then wait = s.pause - now; code = 4 end
    if s.interval > 0 then
      local d = math.max(s.tat, now) - s.tol - now
      if d > wait then wait = d; code = 1 end
      local w = tail(s)
      if w then
        d = w + 1000000 - now
        if d > wait then wait = d; code = 2 end
      end
    end
  end
  if wait == 0 then
    for _, s in ipairs(ls) do
      if s.maxch > 0 then
        if not s.used then s.used = redis.call('ZCARD', KEYS[s.k + 3]) end
        if s.used >= s.maxch and not s.purged then
          s.purged = true
          redis.call('ZREMRANGEBYSCORE', KEYS[s.k + 3], '-inf', now)
          -- This run's grants are not in the zset yet.
          s.used = redis.call('ZCARD', KEYS[s.k + 3]) + #s.slots / 2
        end
        if s.used >= s.maxch then code = 3 end
      end
    end
  end
  if code > 0 then
    out[#out + 1] = code; out[#out + 1] = wait
  else
    local slot = ARGV[2] .. string.format('%d', tonumber(ARGV[3]) + i - 1)
    for _, s in ipairs(ls) do
      if s.interval > 0 then
        s.tat = math.max(s.tat, now) + s.interval
        s.g = s.g + 1
      end
      if s.maxch > 0 then
        s.used = s.used + 1
        s.slots[#s.slots + 1] = string.format('%d', now + ttl)
        s.slots[#s.slots + 1] = slot
      end
    end
    out[#out + 1] = 0; out[#out + 1] = 0
  end
end

-- Write back each level that granted.
local snow = string.format('%d', now)
for _, s in ipairs(lv) do
  if s.g > 0 then
    local w = tail(s)
    local push = {}
    for j = 1, math.min(s.g, s.cap) do push[j] = snow end
    local n = redis.call('LPUSH', KEYS[s.k + 2], unpack(push))
    if n > s.cap then redis.call('LTRIM', KEYS[s.k + 2], 0, s.cap - 1) end
    redis.call('PEXPIRE', KEYS[s.k + 2], 2000)
    if n >= s.cap then
      redis.call('HSET', KEYS[s.k + 1], 'tat', string.format('%d', s.tat), 'wtail', string.format('%d', w))
    else
      redis.call('HSET', KEYS[s.k + 1], 'tat', string.format('%d', s.tat))
    end
    -- The hash lives as long as its tat, its pause or its window matter
    -- (at least 1 s after this grant).
    redis.call('PEXPIRE', KEYS[s.k + 1], math.floor((math.max(s.tat, s.pause) - now) / 1000) + 1000)
  end
  if #s.slots > 0 then
    redis.call('ZADD', KEYS[s.k + 3], unpack(s.slots))
    redis.call('PEXPIRE', KEYS[s.k + 3], math.floor(ttl / 1000) * 2 + 1000)
  end
end
return out

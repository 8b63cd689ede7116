-- reserve.lua: reserve the first usable caller ID of a list of candidates.
-- KEYS, 5 per candidate: rest (until, ms), cool (until, ms), minute, hour
-- and day counters. ARGV[1] now (ms), then 5 per candidate: daily cap,
-- per-minute cap, per-hour cap, cooldown ms, day-window TTL ms. TTLs are
-- relative so that the callers' clock, not Redis', names the windows.
-- Returns {index (0-based)} on success, else {-1, reason per candidate…}.
local now = tonumber(ARGV[1])
local n = #KEYS / 5
local reasons = {}
for i = 1, n do
  local k = 5 * (i - 1)
  local a = 1 + 5 * (i - 1)
  local daily = tonumber(ARGV[a + 1])
  local pm = tonumber(ARGV[a + 2])
  local ph = tonumber(ARGV[a + 3])
  local cd = tonumber(ARGV[a + 4])
  local r = ''
  local rest = redis.call('GET', KEYS[k + 1])
  local cool = redis.call('GET', KEYS[k + 2])
  if rest and tonumber(rest) > now then
    r = 'resting'
  elseif cool and tonumber(cool) > now then
    r = 'cooling_down'
  else
    local m = tonumber(redis.call('GET', KEYS[k + 3]) or '0')
    local h = tonumber(redis.call('GET', KEYS[k + 4]) or '0')
    local d = tonumber(redis.call('GET', KEYS[k + 5]) or '0')
    if pm > 0 and m >= pm then
      r = 'per_minute_cap'
    elseif ph > 0 and h >= ph then
      r = 'per_hour_cap'
    elseif daily > 0 and d >= daily then
      r = 'daily_cap'
    end
  end
  if r == '' then
    redis.call('INCR', KEYS[k + 3])
    redis.call('PEXPIRE', KEYS[k + 3], 120000)
    redis.call('INCR', KEYS[k + 4])
    redis.call('PEXPIRE', KEYS[k + 4], 7200000)
    redis.call('INCR', KEYS[k + 5])
    redis.call('PEXPIRE', KEYS[k + 5], ARGV[a + 5])
    if cd > 0 then
      redis.call('SET', KEYS[k + 2], string.format('%d', now + cd), 'PX', cd)
    end
    return {i - 1}
  end
  reasons[i] = r
end
local out = {-1}
for i = 1, n do out[i + 1] = reasons[i] end
return out

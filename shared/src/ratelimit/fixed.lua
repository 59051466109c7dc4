-- Fixed window, the old Node behaviour: a counter per identifier that starts with the first
-- request and expires one window later. Simple and cheap, but allows up to twice the limit
-- across a window boundary.

local function rl_check(key, limit, window, now)
  local count = tonumber(redis.call('GET', key)) or 0
  local ttl = redis.call('PTTL', key)
  local fresh = ttl < 0
  if fresh then
    ttl = window
  end
  if count >= limit then
    return {allowed = 0, remaining = 0, reset = ttl, retry = ttl}
  end
  return {allowed = 1, remaining = limit - count - 1, reset = ttl, retry = 0, fresh = fresh}
end

local function rl_commit(key, check, window, now)
  redis.call('INCR', key)
  if check.fresh then
    redis.call('PEXPIRE', key, window)
  end
end

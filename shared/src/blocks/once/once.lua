-- One-time tokens (blocks::once), for a route script to compose before its own Lua: a value
-- kept under a token's key until it is taken, once, or expires. The key is a parameter, from
-- the caller's KEYS.

-- once_put(token, value, ttl_ms): keeps value for ttl_ms, unless the key is in use.
-- Answers 1 when stored, 0 when not.
local function once_put(token, value, ttl_ms)
  if redis.call('SET', token, value, 'PX', ttl_ms, 'NX') then
    return 1
  end
  return 0
end

-- once_take(token): the value, deleted in the same step, so of any number of concurrent takes
-- exactly one gets it; false when it was taken already or expired.
local function once_take(token)
  return redis.call('GETDEL', token)
end

-- once_peek(token): {value, ms left}, taking nothing; false when there is no value.
local function once_peek(token)
  local value = redis.call('GET', token)
  if not value then
    return false
  end
  return {value, redis.call('PTTL', token)}
end

-- Presence registry (blocks::presence), for a route script to compose before its own Lua. A
-- group's members are a sorted set scored with when each one expires (epoch ms, Redis server
-- time, rl_now_ms from the limiter prelude): a member whose time passed is no longer listed,
-- the group's next write prunes it, and the set expires with its last member, so nothing
-- needs a cleanup job. Closing a group leaves a tombstone key for a while, and every join or
-- refresh meanwhile is refused, so a late writer cannot bring the group back. Both keys are
-- parameters, from the caller's KEYS.

-- The set expires when its last member does.
local function presence_expire(members)
  local last = redis.call('ZRANGE', members, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', members, last[2])
  end
end

-- presence_add(members, closed, member, ttl_ms, only_live): member now expires ttl_ms from
-- now. With only_live = '1' (a refresh) only if it is a live member: one that expired or was
-- removed must join again. Answers 1 when it joined, 0 when it was a live member (refreshed),
-- -1 when the group is closed, -2 when only_live and it was not a live member.
local function presence_add(members, closed, member, ttl_ms, only_live)
  if redis.call('EXISTS', closed) == 1 then
    return -1
  end
  local now = rl_now_ms()
  redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
  local live = redis.call('ZSCORE', members, member) ~= false
  if only_live == '1' and not live then
    return -2
  end
  redis.call('ZADD', members, now + tonumber(ttl_ms), member)
  presence_expire(members)
  if live then
    return 0
  end
  return 1
end

-- presence_leave(members, member): removes member. Answers 1 when it was a live member, else 0.
local function presence_leave(members, member)
  redis.call('ZREMRANGEBYSCORE', members, '-inf', rl_now_ms())
  local removed = redis.call('ZREM', members, member)
  presence_expire(members)
  return removed
end

-- presence_list(members, limit): at most `limit` live members, the soonest to expire first,
-- as {member, expires at (epoch ms), ...}. Writes nothing.
local function presence_list(members, limit)
  return redis.call('ZRANGEBYSCORE', members, '(' .. rl_now_ms(), '+inf', 'WITHSCORES',
    'LIMIT', 0, limit)
end

-- presence_close(members, closed, tombstone_ms): removes the group and leaves its tombstone
-- for tombstone_ms. Answers how many live members it had.
local function presence_close(members, closed, tombstone_ms)
  local live = redis.call('ZCOUNT', members, '(' .. rl_now_ms(), '+inf')
  redis.call('DEL', members)
  redis.call('SET', closed, '1', 'PX', tombstone_ms)
  return live
end

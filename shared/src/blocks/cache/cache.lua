-- Cache-aside with stampede protection (blocks::cache), for a route script to compose before
-- its own Lua. An entry is one hash: v (the value), f (fresh until, epoch ms) and, while one
-- caller recomputes it, l (that caller's lease id) and lu (when the lease ends, epoch ms).
-- Times are Redis server time (rl_now_ms, from the limiter prelude). The entry's key is a
-- parameter, from the caller's KEYS.

-- cache_get(entry, lease_id, lease_ms): the entry and what the caller is to do, as
-- {state, value, retry ms}:
--   1 fresh: value is fresh;
--   2 compute: the value is missing or stale and nobody is recomputing it, so this caller now
--     holds the lease (lease_id, for lease_ms) and is to compute the value and cache_set it;
--     value is the stale one if one is kept, else false;
--   3 stale: another caller holds the lease; value is the stale one, to serve meanwhile;
--   4 wait: another caller holds the lease and nothing stale is kept: retry after retry ms.
local function cache_get(entry, lease_id, lease_ms)
  local now = rl_now_ms()
  local held = redis.call('HMGET', entry, 'v', 'f', 'lu')
  local value, fresh_until, lease_until = held[1], tonumber(held[2]), tonumber(held[3])
  if value and fresh_until and fresh_until > now then
    return {1, value, 0}
  end
  if lease_until and lease_until > now then
    if value then
      return {3, value, lease_until - now}
    end
    return {4, false, lease_until - now}
  end
  lease_ms = tonumber(lease_ms)
  redis.call('HSET', entry, 'l', lease_id, 'lu', now + lease_ms)
  -- A lease on a missing entry goes with it; one on a stale entry keeps the entry till it ends.
  if redis.call('PTTL', entry) < lease_ms then
    redis.call('PEXPIRE', entry, lease_ms)
  end
  return {2, value, 0}
end

-- cache_set(entry, value, fresh_ms, keep_ms, lease_id): caches value, fresh for fresh_ms and
-- kept keep_ms longer as the stale value served while one caller recomputes it, and ends any
-- lease. Given a lease_id (not ''), only while that lease is the entry's latest: a caller
-- whose lease another took over, whose entry was invalidated meanwhile, or whose lease ran out
-- with an entry that had no value, may have computed from old data, and stores nothing.
-- Answers 1 when stored, 0 when not.
local function cache_set(entry, value, fresh_ms, keep_ms, lease_id)
  if lease_id ~= '' and redis.call('HGET', entry, 'l') ~= lease_id then
    return 0
  end
  fresh_ms = tonumber(fresh_ms)
  redis.call('DEL', entry)
  redis.call('HSET', entry, 'v', value, 'f', rl_now_ms() + fresh_ms)
  redis.call('PEXPIRE', entry, fresh_ms + tonumber(keep_ms))
  return 1
end

-- cache_invalidate(entry): forgets the entry, its value and any lease, so a recompute under
-- way does not store what it computed from old data. Answers 1 when there was one, else 0.
local function cache_invalidate(entry)
  return redis.call('DEL', entry)
end

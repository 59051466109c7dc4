-- Fixed window, the old Node behaviour: a count per identifier (field n) in a window that
-- starts with the first request and ends one window later (field e, ms of Redis time).
-- Simple and cheap, but allows up to twice the limit across a window boundary.

local RL_ALGORITHM = 'fixed'

local function rl_check(state, limit, window, now)
  local count, ends = 0, now + window
  if state and tonumber(state.e) > now then
    count, ends = tonumber(state.n), tonumber(state.e)
  end
  local left = ends - now
  if count >= limit then
    return {allowed = 0, remaining = 0, reset = left, retry = left}
  end
  return {allowed = 1, remaining = limit - count - 1, reset = left, retry = 0,
          count = count, ends = ends}
end

local function rl_commit(key, check, window, now)
  redis.call('HSET', key, 'a', RL_ALGORITHM, 'n', check.count + 1, 'e', check.ends)
  redis.call('PEXPIRE', key, check.ends - now)
end

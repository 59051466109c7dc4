-- Sliding window, approximated from two fixed windows as Cloudflare and Upstash do: the
-- previous window's count weighs in proportion to how much of it still overlaps the sliding
-- window. One hash per identifier: w (current window number), c (its count), p (previous).
-- No boundary burst, constant memory.

local RL_ALGORITHM = 'sliding'

local function rl_counts(state, window, now)
  local index = math.floor(now / window)
  local current, previous = 0, 0
  if state then
    local w, c = tonumber(state.w), tonumber(state.c) or 0
    if w == index then
      current, previous = c, tonumber(state.p) or 0
    elseif w == index - 1 then
      previous = c
    end
  end
  return index, current, previous
end

local function rl_check(state, limit, window, now)
  local index, current, previous = rl_counts(state, window, now)
  local into = now - index * window
  local estimate = previous * (window - into) / window + current
  local until_next = window - into
  if estimate + 1 > limit then
    -- The previous window's weight falls linearly: wait until it has fallen enough, in this
    -- window if this window's own count leaves room, else in the next one, where this
    -- window's count becomes the previous one.
    local retry
    if current + 1 <= limit then
      retry = window - window * (limit - 1 - current) / previous - into
    else
      retry = until_next + math.max(0, window - window * (limit - 1) / current)
    end
    retry = math.max(1, math.ceil(retry))
    return {allowed = 0, remaining = 0, reset = retry, retry = retry}
  end
  -- Once this request counts, the allowance is whole again when it has slid out entirely.
  return {allowed = 1, remaining = math.floor(limit - estimate - 1),
          reset = math.ceil(until_next + window), retry = 0,
          index = index, current = current, previous = previous}
end

local function rl_commit(key, check, window, now)
  redis.call('HSET', key, 'a', RL_ALGORITHM, 'w', check.index, 'c', check.current + 1,
    'p', check.previous)
  redis.call('PEXPIRE', key, window * 2)
end

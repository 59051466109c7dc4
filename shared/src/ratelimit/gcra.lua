-- GCRA, the generic cell rate algorithm: one hash per identifier holds the theoretical
-- arrival time (TAT) of the next request, in ms of Redis time (field t). Requests are spaced
-- window / limit apart, with a burst of up to `limit` allowed at once. One number per
-- identifier, no counters to reset, and time from Redis so instance clocks never matter.

local RL_ALGORITHM = 'gcra'

local function rl_check(state, limit, window, now)
  local interval = window / limit
  local tat = state and tonumber(state.t) or now
  if tat < now then
    tat = now
  end
  local new_tat = tat + interval
  local allow_at = new_tat - window
  if now < allow_at then
    return {allowed = 0, remaining = 0, reset = math.ceil(tat - now),
            retry = math.ceil(allow_at - now)}
  end
  return {allowed = 1, remaining = math.floor((window - (new_tat - now)) / interval + 1e-9),
          reset = math.ceil(new_tat - now), retry = 0, tat = new_tat}
end

local function rl_commit(key, check, window, now)
  redis.call('HSET', key, 'a', RL_ALGORITHM, 't', string.format('%.3f', check.tat))
  redis.call('PEXPIRE', key, math.ceil(check.tat - now))
end

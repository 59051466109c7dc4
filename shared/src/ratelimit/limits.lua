-- The rate-limit prelude of every route script, after one algorithm's RL_ALGORITHM /
-- rl_check / rl_commit and before the route's own Lua, so a route's limits and its work are
-- one round trip. The limiters' keys and arguments come after the route's, so the route reads
-- its own as KEYS[1..] and ARGV[1..]:
--   KEYS: route keys..., then one key per limiter
--   ARGV: route args..., then per limiter: limit, window (ms), spend; then fail-open ('1' or
--         '0'), then the number of limiters n
-- spend is '1' to consume, or 'r' to consume only when the key already holds a record (a
-- limiter that counts only failures: once some are on record, an attempt counts at once, so
-- concurrent attempts cannot all pass one check; with none, the caller counts a failure
-- later, when it is known).
-- rl_enforce answers the reply head {status, limiter index, remaining, reset ms, retry ms};
-- status 1 allowed, 0 denied (by the limiter at that index), -1 that limiter could not be read.

local RL_COUNT = tonumber(ARGV[#ARGV])
local RL_FAIL_OPEN = ARGV[#ARGV - 1] == '1'
local RL_FIRST_KEY = #KEYS - RL_COUNT
local RL_FIRST_ARG = #ARGV - 2 - 3 * RL_COUNT

-- Limiter i's key and its arguments: limit, window (ms), spend.
local function rl_limiter(i)
  local at = RL_FIRST_ARG + 3 * (i - 1)
  return KEYS[RL_FIRST_KEY + i], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), ARGV[at + 3]
end

local function rl_now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- A limiter's state: the hash its algorithm keeps (field a names the algorithm), or nil when
-- there is none, and whether the key holds any record. State another algorithm wrote
-- (RATE_LIMIT_ALGORITHM changed, or a rolling deploy runs two) is nil too: the limiter starts
-- afresh rather than misread it. A key that is not a hash is an error: it cannot be read.
local function rl_load(key)
  local flat = redis.call('HGETALL', key)
  local state = {}
  for j = 1, #flat, 2 do
    state[flat[j]] = flat[j + 1]
  end
  if state.a ~= RL_ALGORITHM then
    return nil, #flat > 0
  end
  return state, true
end

local function rl_load_and_check(key, limit, window, now)
  local state, recorded = rl_load(key)
  local check = rl_check(state, limit, window, now)
  check.recorded = recorded
  check.foreign = recorded and state == nil
  return check
end

-- Checks every limiter first and consumes only if all allow: a rejected request consumes
-- nothing. When allowed, reports the limiter closest to its limit.
local function rl_enforce()
  local allowed = {1, 0, 0, 0, 0}
  if RL_COUNT == 0 then
    return allowed
  end
  local now = rl_now_ms()
  local checks = {}
  local spends = {}
  for i = 1, RL_COUNT do
    local key, limit, window, spend = rl_limiter(i)
    local ok, check = pcall(rl_load_and_check, key, limit, window, now)
    if not ok then
      if RL_FAIL_OPEN then
        return allowed
      end
      return {-1, i, 0, 0, 0}
    end
    if check.allowed == 0 then
      return {0, i, 0, check.reset, check.retry}
    end
    spends[i] = spend == '1' or (spend == 'r' and check.recorded)
    -- A limiter that did not spend this request still has it.
    if not spends[i] then
      check.remaining = check.remaining + 1
    end
    checks[i] = check
    if allowed[2] == 0 or check.remaining < allowed[3] then
      allowed = {1, i, check.remaining, check.reset, 0}
    end
  end
  for i = 1, RL_COUNT do
    if spends[i] then
      local key, _, window = rl_limiter(i)
      if checks[i].foreign then
        redis.call('DEL', key)
      end
      rl_commit(key, checks[i], window, now)
    end
  end
  return allowed
end

-- The limiter head followed by the route's values (each one reply element).
local function rl_reply(head, ...)
  local reply = {head[1], head[2], head[3], head[4], head[5]}
  for i = 1, select('#', ...) do
    reply[#reply + 1] = select(i, ...)
  end
  return reply
end

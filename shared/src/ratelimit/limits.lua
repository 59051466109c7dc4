-- The rate-limit prelude of every route script, after one algorithm's RL_ALGORITHM /
-- rl_check / rl_commit and before the route's own Lua, so a route's limits and its work are
-- one round trip. The limiters' keys and arguments come after the route's, so the route reads
-- its own as KEYS[1..] and ARGV[1..]:
--   KEYS: route keys..., then one key per limiter
--   ARGV: route args..., then per limiter: limit, window (ms), spend, condition; then
--         fail-open ('1' or '0'), then the number of limiters n
-- spend is '1' to consume; 'l:<id>' to take a lease instead (an attempt whose outcome is not
-- known yet: it holds one unit of the allowance for RL_LEASE_MS, so any number of concurrent
-- attempts cannot all pass one check, and lapses by itself if the attempt succeeds); or
-- 'f:<id>' to turn that lease into a counted failure (consume, and drop the lease).
-- Leases are fields 'l:<id>' = expiry (ms) in the limiter's own hash, beside its state.
-- condition is '*' (the limiter always applies), '<fact>' (it applies only when the fact
-- holds) or '!<fact>' (only when it does not): a route whose limits name facts states them
-- from what its script read, rl_enforce({fact = true|false}), before any limiter is applied,
-- so one script picks the right limiter without a second request. A fact named but not
-- stated is an error, never a skipped limit.
-- rl_enforce answers the reply head {status, limiter index, remaining, reset ms, retry ms};
-- status 1 allowed, 0 denied (by the limiter at that index), -1 that limiter could not be read.

local RL_COUNT = tonumber(ARGV[#ARGV])
local RL_FAIL_OPEN = ARGV[#ARGV - 1] == '1'
local RL_FIRST_KEY = #KEYS - RL_COUNT
local RL_FIRST_ARG = #ARGV - 2 - 4 * RL_COUNT
-- Longer than an attempt takes between its lease and its outcome (a password check).
local RL_LEASE_MS = 10000

-- Limiter i's key and its arguments: limit, window (ms), spend.
local function rl_limiter(i)
  local at = RL_FIRST_ARG + 4 * (i - 1)
  return KEYS[RL_FIRST_KEY + i], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), ARGV[at + 3]
end

-- The indices of the limiters whose condition holds, given the route's facts.
local function rl_active(facts)
  local active = {}
  for i = 1, RL_COUNT do
    local condition = ARGV[RL_FIRST_ARG + 4 * i]
    local applies = true
    if condition ~= '*' then
      local negated = condition:sub(1, 1) == '!'
      local fact = facts and facts[negated and condition:sub(2) or condition]
      if fact == nil then
        error('rate limit condition ' .. condition .. ': the route states no such fact')
      end
      applies = fact ~= negated
    end
    if applies then
      active[#active + 1] = i
    end
  end
  return active
end

local function rl_now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- A limiter's state: the hash its algorithm keeps (field a names the algorithm), or nil when
-- there is none; whether the key holds any state at all; and its leases: how many are live,
-- when the first of them lapses, and the fields of those that lapsed. State another algorithm
-- wrote (RATE_LIMIT_ALGORITHM changed, or a rolling deploy runs two) is nil too: the limiter
-- starts afresh rather than misread it. A key that is not a hash is an error.
local function rl_load(key, now)
  local flat = redis.call('HGETALL', key)
  local state, recorded = {}, false
  local leases = {live = 0, first_end = nil, lapsed = {}}
  for j = 1, #flat, 2 do
    local field, value = flat[j], flat[j + 1]
    if field:sub(1, 2) == 'l:' then
      local ends = tonumber(value)
      if ends <= now then
        leases.lapsed[#leases.lapsed + 1] = field
      else
        leases.live = leases.live + 1
        if not leases.first_end or ends < leases.first_end then
          leases.first_end = ends
        end
      end
    else
      state[field] = value
      recorded = true
    end
  end
  if state.a ~= RL_ALGORITHM then
    return nil, recorded, leases
  end
  return state, recorded, leases
end

local function rl_load_and_check(key, limit, window, spend, now)
  local state, recorded, leases = rl_load(key, now)
  local check = rl_check(state, limit, window, now)
  check.foreign = recorded and state == nil
  check.leases = leases
  -- A new lease also needs room beside the live ones.
  if check.allowed == 1 and spend:sub(1, 2) == 'l:' and leases.live > check.remaining then
    local retry = math.max(1, leases.first_end - now)
    return {allowed = 0, remaining = 0, reset = math.max(check.reset, retry), retry = retry}
  end
  -- The remaining a lease reports leaves the live leases out: they are other attempts in
  -- flight (a login's lapses 10 s after its success), and headers that counted them would tell
  -- an account that just signed in from an unknown email.
  return check
end

-- Checks every limiter first and consumes only if all allow: a rejected request consumes
-- nothing. When allowed, reports the limiter closest to its limit. Only the limiters whose
-- condition holds take part (facts: see condition above; nil when no limit names one).
local function rl_enforce(facts)
  local allowed = {1, 0, 0, 0, 0}
  if RL_COUNT == 0 then
    return allowed
  end
  local now = rl_now_ms()
  local checks = {}
  local active = rl_active(facts)
  for _, i in ipairs(active) do
    local key, limit, window, spend = rl_limiter(i)
    local ok, check = pcall(rl_load_and_check, key, limit, window, spend, now)
    if not ok then
      if RL_FAIL_OPEN then
        return allowed
      end
      return {-1, i, 0, 0, 0}
    end
    if check.allowed == 0 then
      return {0, i, 0, check.reset, check.retry}
    end
    checks[i] = check
    if allowed[2] == 0 or check.remaining < allowed[3] then
      allowed = {1, i, check.remaining, check.reset, 0}
    end
  end
  for _, i in ipairs(active) do
    local key, _, window, spend = rl_limiter(i)
    local check = checks[i]
    if check.foreign then
      redis.call('DEL', key)
    elseif #check.leases.lapsed > 0 then
      redis.call('HDEL', key, unpack(check.leases.lapsed))
    end
    local kind, lease = spend:sub(1, 1), 'l:' .. spend:sub(3)
    if kind == 'l' then
      local ends = now + RL_LEASE_MS
      redis.call('HSET', key, lease, ends)
      if redis.call('PTTL', key) < RL_LEASE_MS then
        redis.call('PEXPIRE', key, RL_LEASE_MS)
      end
    else
      if kind == 'f' then
        redis.call('HDEL', key, lease)
      end
      rl_commit(key, check, window, now)
      if check.leases.live > 0 and redis.call('PTTL', key) < RL_LEASE_MS then
        redis.call('PEXPIRE', key, RL_LEASE_MS)
      end
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

-- POST /signature-session/create, after the limiter prelude and the counters' functions:
-- creates a signature session if its id is free, and counts it in the session's counter shard
-- (blocks::counters), in one atomic step.
-- Answers 1 when created; 0 when the id is taken, having written nothing.
local session = KEYS[1]
local created_total = KEYS[2]
local created_day = KEYS[3]
local onboarding_token = ARGV[1]
local created_at = ARGV[2]
local expires_at = ARGV[3]
local session_ttl_seconds = ARGV[4]
local created_by = ARGV[5]
local created_day_ttl = ARGV[6]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if redis.call('EXISTS', session) == 1 then
  return rl_reply(head, 0)
end
redis.call('HSET', session,
  'onboarding_token', onboarding_token,
  'created_at', created_at,
  'expires_at', expires_at,
  'completed', '0')
redis.call('EXPIRE', session, session_ttl_seconds)
counter_add(created_total, created_by, created_day, created_day_ttl)
return rl_reply(head, 1)

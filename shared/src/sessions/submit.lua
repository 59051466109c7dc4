-- POST /signature-session/{sessionId}/submit, after the limiter prelude and the counters'
-- functions: completes a session exactly once, and counts it in the session's counter shard
-- (blocks::counters), in one atomic step. Of any number of concurrent submits, Redis runs this
-- for one at a time, so exactly one sees 'completed' = '0'. HSET on an existing hash keeps its
-- TTL, so the session still expires when it was going to.
-- Answers 1 when stored, 0 when the session is missing or expired, -1 when already completed.
local session = KEYS[1]
local completed_total = KEYS[2]
local completed_day = KEYS[3]
local signature_data = ARGV[1]
local completed_at = ARGV[2]
local completed_by = ARGV[3]
local completed_day_ttl = ARGV[4]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
local completed = redis.call('HGET', session, 'completed')
if not completed then
  return rl_reply(head, 0)
end
if completed == '1' then
  return rl_reply(head, -1)
end
redis.call('HSET', session,
  'completed', '1',
  'completed_at', completed_at,
  'signature_data', signature_data)
counter_add(completed_total, completed_by, completed_day, completed_day_ttl)
return rl_reply(head, 1)

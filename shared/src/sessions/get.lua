-- GET /signature-session/{sessionId}, after the limiter prelude: the session as a poll shows
-- it (never its onboarding token, which stays server-side).
-- Answers {created_at, expires_at, completed, completed_at, signature_data}, all nil when the
-- session is missing or expired.
local session = KEYS[1]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
return rl_reply(head, redis.call('HMGET', session,
  'created_at', 'expires_at', 'completed', 'completed_at', 'signature_data'))

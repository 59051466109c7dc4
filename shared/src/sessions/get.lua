-- GET /signature-session/{sessionId}, after the limiter prelude: the session as a poll shows
-- it (never its onboarding token, which stays server-side).
-- A poll of a live session spends from that session's poll budget instead of the client's
-- API allowance, so a desktop can poll once a second for the session's whole life; a poll of
-- an unknown or expired id spends from the client's API allowance (the route's limits:
-- session-poll when 'live', api unless 'live'). Either way, one script.
-- Answers {created_at, expires_at, completed, completed_at, signature_data}, all nil when the
-- session is missing or expired.
local session = KEYS[1]

local fields = redis.call('HMGET', session,
  'created_at', 'expires_at', 'completed', 'completed_at', 'signature_data')
local head = rl_enforce({live = fields[1] ~= false})
if head[1] ~= 1 then
  return head
end
return rl_reply(head, fields)

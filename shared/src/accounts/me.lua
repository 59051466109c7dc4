-- GET /auth/me, after the limiter prelude: the guard, then the user.
-- Answers {id, token_version, email, created_at}, or nil when the token is not live.
local denied_token = KEYS[1]
local user = KEYS[2]
local family = KEYS[3]
local user_id = ARGV[1]
local token_version = ARGV[2]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
return rl_reply(head, guard_live(denied_token, user, family, user_id, token_version,
  'email', 'created_at'))

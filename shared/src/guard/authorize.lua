-- The authorizer's one request: the guard alone (no limiter is passed, so the prelude allows
-- without touching Redis).
-- Answers 1 when the token is live, 0 when not.
local denied_token = KEYS[1]
local user = KEYS[2]
local family = KEYS[3]
local user_id = ARGV[1]
local token_version = ARGV[2]

local head = rl_enforce()
if guard_live(denied_token, user, family, user_id, token_version) then
  return rl_reply(head, 1)
end
return rl_reply(head, 0)

-- POST /auth/login, the first (usually only) request, after the limiter prelude (the API and
-- per-IP limits consumed; the account's failure limiter holding a lease for this attempt):
-- the user behind the email.
-- Answers whether failures are on record (1/0: a success then clears them), then
-- {id, password_hash, token_version, email}, all nil when the email is unknown.
local user = KEYS[1]
local failures = KEYS[2]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
return rl_reply(head, redis.call('HEXISTS', failures, 'a'),
  redis.call('HMGET', user, 'id', 'password_hash', 'token_version', 'email'))

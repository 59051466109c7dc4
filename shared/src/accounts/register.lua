-- POST /auth/register, after the limiter prelude: claims the email by creating its user hash
-- field by field only if it has no id yet, so of two concurrent registrations of one email
-- exactly one succeeds.
-- Answers 1 when created, 0 when the email is taken (nothing written).
local user = KEYS[1]
local user_id = ARGV[1]
local email = ARGV[2]
local password_hash = ARGV[3]
local created_at = ARGV[4]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if redis.call('HSETNX', user, 'id', user_id) == 0 then
  return rl_reply(head, 0)
end
redis.call('HSET', user,
  'email', email,
  'password_hash', password_hash,
  'created_at', created_at,
  'token_version', 0)
return rl_reply(head, 1)

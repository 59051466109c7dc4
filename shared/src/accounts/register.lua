-- Registers an account after the rate-limit prelude: the email is claimed set-if-absent, so
-- two concurrent registrations of one email cannot both succeed.
-- route_key(1) email -> user id, (2) the new user's hash
-- route_arg(1) user id, (2) email, (3) password hash (PHC), (4) created_at (epoch ms)
-- Route value: 1 when created, 0 when the email is taken (nothing written).
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if not redis.call('SET', route_key(1), route_arg(1), 'NX') then
  return rl_reply(head, 0)
end
redis.call('HSET', route_key(2),
  'email', route_arg(2),
  'password_hash', route_arg(3),
  'created_at', route_arg(4),
  'token_version', 0)
return rl_reply(head, 1)

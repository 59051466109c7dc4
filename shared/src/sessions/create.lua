-- Creates a signature session if its id is free, and counts it, in one atomic step after
-- the rate-limit prelude.
-- route_key(1) the session hash, (2) all-time created counter, (3) today's created counter
-- route_arg(1) onboarding token, (2) created_at (epoch ms), (3) expires_at (epoch ms),
-- (4) session TTL (s), (5) daily counter TTL (s)
-- Route value: 1 when created; 0 when the id is taken, having written nothing.
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if redis.call('EXISTS', route_key(1)) == 1 then
  return rl_reply(head, 0)
end
redis.call('HSET', route_key(1),
  'onboarding_token', route_arg(1),
  'created_at', route_arg(2),
  'expires_at', route_arg(3),
  'completed', '0')
redis.call('EXPIRE', route_key(1), route_arg(4))
redis.call('INCR', route_key(2))
redis.call('INCR', route_key(3))
redis.call('EXPIRE', route_key(3), route_arg(5))
return rl_reply(head, 1)

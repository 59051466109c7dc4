-- Completes a signature session exactly once, and counts it, in one atomic step after the
-- rate-limit prelude: of any number of concurrent submits, Redis runs this for one at a
-- time, so exactly one sees 'completed' = '0'. HSET on an existing hash keeps its TTL, so
-- the session still expires when it was going to.
-- route_key(1) the session hash, (2) all-time completed counter, (3) today's counter
-- route_arg(1) signature data URL, (2) completed_at (epoch ms), (3) daily counter TTL (s)
-- Route value: 1 when stored, 0 when the session is missing or expired, -1 when already
-- completed.
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
local completed = redis.call('HGET', route_key(1), 'completed')
if not completed then
  return rl_reply(head, 0)
end
if completed == '1' then
  return rl_reply(head, -1)
end
redis.call('HSET', route_key(1),
  'completed', '1',
  'completed_at', route_arg(2),
  'signature_data', route_arg(1))
redis.call('INCR', route_key(2))
redis.call('INCR', route_key(3))
redis.call('EXPIRE', route_key(3), route_arg(3))
return rl_reply(head, 1)

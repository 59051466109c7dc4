-- Reads a signature session for a poll, after the rate-limit prelude.
-- route_key(1) the session hash; route_arg(1..) the fields to read
-- Route value: the fields' values in order (all nil when the session is missing or expired).
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
return rl_reply(head, redis.call('HMGET', route_key(1), route_args(1)))

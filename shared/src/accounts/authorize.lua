-- The authorizer's one round trip: the guard alone (no limiter is passed, so the prelude
-- allows without touching Redis).
-- route_key(1) deny:{jti}, (2) user:{sub}; route_arg(1) the token's version
-- Route value: 1 when the token is live, 0 when not.
local head = rl_enforce()
if guard_live(route_key(1), route_key(2), route_arg(1)) then
  return rl_reply(head, 1)
end
return rl_reply(head, 0)

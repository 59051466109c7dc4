-- GET /auth/me after the rate-limit prelude: the guard, then the user.
-- route_key(1) deny:{jti}, (2) user:{sub}; route_arg(1) the token's version
-- Route value: {token_version, email, created_at}, or nil when the token is not live.
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
return rl_reply(head, guard_live(route_key(1), route_key(2), route_arg(1), 'email', 'created_at'))

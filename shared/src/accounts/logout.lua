-- POST /auth/logout after the rate-limit prelude: a live token's jti goes on the denylist
-- until the token could no longer verify anyway (exp + leeway), and with allDevices the
-- user's token version goes up so every older token dies too. A token that is already
-- dead changes nothing: logging out twice is logging out once.
-- route_key(1) deny:{jti}, (2) user:{sub}
-- route_arg(1) the token's version, (2) denylist expiry (epoch s), (3) '1' for all devices
-- Route value: 1 when this call logged out, 0 when the token was already dead.
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if not guard_live(route_key(1), route_key(2), route_arg(1)) then
  return rl_reply(head, 0)
end
redis.call('SET', route_key(1), '1', 'EXAT', route_arg(2))
if route_arg(3) == '1' then
  redis.call('HINCRBY', route_key(2), 'token_version', 1)
end
return rl_reply(head, 1)

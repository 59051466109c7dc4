-- POST /auth/logout, after the limiter prelude: a live token's jti goes on the denylist until
-- the token could no longer verify anyway (exp + leeway), and its refresh-token family is
-- revoked until the family would have ended anyway, so neither its access tokens nor its
-- refresh tokens work any more. With allDevices the user's token version goes up, so every
-- older access token dies too, and every family started before now is revoked (refresh reads
-- refresh_revoked_before). A token that is already dead changes nothing: logging out twice is
-- logging out once.
-- Answers 1 when this call logged out, 0 when the token was already dead.
local denied_token = KEYS[1]
local user = KEYS[2]
local family = KEYS[3]
local user_id = ARGV[1]
local token_version = ARGV[2]
local denylist_until = ARGV[3]
local family_ends_at = ARGV[4]
local all_devices = ARGV[5]
local now_ms = ARGV[6]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
if not guard_live(denied_token, user, family, user_id, token_version) then
  return rl_reply(head, 0)
end
redis.call('SET', denied_token, '1', 'EXAT', denylist_until)
redis.call('HSET', family, 'revoked', '1')
redis.call('EXPIREAT', family, family_ends_at)
if all_devices == '1' then
  redis.call('HINCRBY', user, 'token_version', 1)
  redis.call('HSET', user, 'refresh_revoked_before', now_ms)
end
return rl_reply(head, 1)

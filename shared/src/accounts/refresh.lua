-- POST /auth/refresh, after the limiter prelude: rotates a refresh token of a live family.
-- The family's hash holds the SHA-256 of its current secret, of the one before (previous,
-- rotated at rotated_at) and a field u:<hash> for every secret it ever used; revoked once it
-- is. It is created by the family's first refresh (a login writes nothing) and expires with
-- the family. A family started before the user's last log-out-everywhere is revoked too.
-- Answers 1 and the user's {id, token_version, email} when the presented token may be
-- replaced by its successor; 0 when the token is unknown, its family ended or revoked;
-- -1 when it is a used token presented again: reuse, which revokes the family.
local family = KEYS[1]
local user = KEYS[2]
local presented = ARGV[1]
local successor = ARGV[2]
local first = ARGV[3]
local started_ms = ARGV[4]
local family_ends_at = ARGV[5]
local grace_ms = ARGV[6]

local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
local state = redis.call('HMGET', family, 'revoked', 'current', 'previous', 'rotated_at')
local revoked, current, previous, rotated_at = state[1], state[2], state[3], state[4]
if revoked then
  return rl_reply(head, 0)
end
local owner = redis.call('HMGET', user, 'id', 'token_version', 'email', 'refresh_revoked_before')
if not owner[1] then
  return rl_reply(head, 0)
end
if owner[4] and tonumber(started_ms) <= tonumber(owner[4]) then
  redis.call('HSET', family, 'revoked', '1')
  redis.call('EXPIREAT', family, family_ends_at)
  return rl_reply(head, 0)
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local identity = {owner[1], owner[2], owner[3]}

local function rotate()
  redis.call('HSET', family, 'current', successor, 'previous', presented, 'rotated_at', now,
    'u:' .. presented, '1')
  redis.call('EXPIREAT', family, family_ends_at)
  return rl_reply(head, 1, identity)
end

if not current then
  if first == '1' then
    return rotate()
  end
  return rl_reply(head, 0)
end
if presented == current then
  return rotate()
end
if presented == previous and successor == current
    and now - tonumber(rotated_at) <= tonumber(grace_ms) then
  return rl_reply(head, 1, identity)
end
if first == '1' or redis.call('HEXISTS', family, 'u:' .. presented) == 1 then
  redis.call('HSET', family, 'revoked', '1')
  return rl_reply(head, -1)
end
return rl_reply(head, 0)

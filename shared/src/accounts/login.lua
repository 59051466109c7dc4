-- The first (usually only) round trip of a login, after the rate-limit prelude (API and
-- per-IP limits consumed; the account's failure limit checked, and consumed when failures
-- are on record): the user behind the email.
-- route_key(1) email -> user id, (2) the account's failure limiter key
-- route_arg(1) the user key prefix ('<prefix>user:'); the user id is known only here
-- Route values: whether failures are on record (1/0; if so, this attempt counts as one
-- already), then the user id and its {password_hash, token_version, email}, or nil when the
-- email is unknown.
local head = rl_enforce()
if head[1] ~= 1 then
  return head
end
local had_failures = redis.call('EXISTS', route_key(2))
local id = redis.call('GET', route_key(1))
if not id then
  return rl_reply(head, had_failures, false)
end
local user = redis.call('HMGET', route_arg(1) .. id,
  'password_hash', 'token_version', 'email')
return rl_reply(head, had_failures, id, user)

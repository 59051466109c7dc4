-- The token guard's Redis half, shared by every route that takes a bearer token: a token
-- whose signature and claims already passed in memory is live only while its jti is not on
-- the denylist and its `ver` equals the user's current token version (logout from all
-- devices raises it). Returns the user's token_version followed by the requested fields,
-- or false when the token is revoked, outdated or its user is gone.
local function guard_live(deny_key, user_key, version, ...)
  if redis.call('EXISTS', deny_key) == 1 then
    return false
  end
  local fields = redis.call('HMGET', user_key, 'token_version', ...)
  if fields[1] ~= version then
    return false
  end
  return fields
end

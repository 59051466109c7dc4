-- The token guard's Redis half, shared by every route that takes a bearer token and by the
-- authorizer: a token whose signature and claims already passed in memory is live only while
-- its jti is not on the denylist, its refresh-token family is not revoked, its user still has
-- the id it names, and its `ver` equals the user's current token version (logout from all
-- devices raises it). Answers {id, token_version, fields...}, or false when the token is
-- revoked, outdated or its user is gone. Every key comes from the caller's KEYS.
local function guard_live(denied_token, user, family, user_id, token_version, ...)
  if redis.call('EXISTS', denied_token) == 1 then
    return false
  end
  if redis.call('HGET', family, 'revoked') then
    return false
  end
  local fields = redis.call('HMGET', user, 'id', 'token_version', ...)
  if fields[1] ~= user_id or fields[2] ~= token_version then
    return false
  end
  return fields
end

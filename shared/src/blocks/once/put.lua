-- OneTime::issue, after the limiter prelude: keeps a value under a fresh token.
-- Answers 1 when stored, 0 when the token's key was in use.
local once = KEYS[1]
local once_value = ARGV[1]
local once_ttl_ms = ARGV[2]

return limited(once_put, once, once_value, once_ttl_ms)

-- OneTime::take, after the limiter prelude: the token's value, at most once.
-- Answers the value, or nil when taken already or expired.
local once = KEYS[1]

return limited(once_take, once)

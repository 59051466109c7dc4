-- OneTime::peek, after the limiter prelude: the token's value and time left, taking nothing.
-- Answers {value, ms left}, or nil when there is no value.
local once = KEYS[1]

return limited(once_peek, once)

-- Cache::invalidate, after the limiter prelude: forgets an entry and any lease on it.
-- Answers 1 when there was one, else 0.
local cache = KEYS[1]

return limited(cache_invalidate, cache)

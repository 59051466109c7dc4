-- Cache::set, after the limiter prelude: stores a computed value unless its lease was lost.
-- Answers 1 when stored, 0 when not.
local cache = KEYS[1]
local cache_value = ARGV[1]
local cache_fresh_ms = ARGV[2]
local cache_keep_ms = ARGV[3]
local cache_lease_id = ARGV[4]

return limited(cache_set, cache, cache_value, cache_fresh_ms, cache_keep_ms, cache_lease_id)

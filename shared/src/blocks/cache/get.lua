-- Cache::get, after the limiter prelude: the entry, and the lease when this caller is to
-- compute it. Answers cache_get's {state, value, retry ms}.
local cache = KEYS[1]
local cache_lease_id = ARGV[1]
local cache_lease_ms = ARGV[2]

return limited(cache_get, cache, cache_lease_id, cache_lease_ms)

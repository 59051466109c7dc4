-- Counters::add of an increment with a day bucket, after the limiter prelude: the all-time
-- total and the day's bucket. Answers the shard's new total.
local counter_total = KEYS[1]
local counter_day = KEYS[2]
local counter_by = ARGV[1]
local counter_day_ttl = ARGV[2]

return limited(counter_add, counter_total, counter_by, counter_day, counter_day_ttl)

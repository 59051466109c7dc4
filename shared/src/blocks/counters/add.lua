-- Counters::add, after the limiter prelude: one increment of a counter's all-time total.
-- Answers the shard's new total.
local counter_total = KEYS[1]
local counter_by = ARGV[1]

return limited(counter_add, counter_total, counter_by)

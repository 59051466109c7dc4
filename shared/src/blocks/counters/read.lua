-- Counters::read, after the limiter prelude: any number of counters, each the sum of its
-- shards. Answers {count, ...}, one per counter read, in order.
local counters = key_run(1)
local counters_shards = ARGV[1]

return limited(counter_sums, counters, counters_shards)

-- Counters::flags, after the limiter prelude: which of some flags are set (which of these items
-- a user liked). Answers {1 or 0, ...}, in order.
local flags = key_run(1)

return limited(flags_read, flags)

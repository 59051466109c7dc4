-- Counters::change_flag, after the limiter prelude: sets or clears one user's flag and counts
-- the change once. Answers 1 when the flag changed, 0 when it already was so.
local flag = KEYS[1]
local flag_total = KEYS[2]
local flag_on = ARGV[1]

return limited(flag_change, flag, flag_total, flag_on)

-- Presence::leave, after the limiter prelude. Answers 1 when the member was live, else 0.
local presence = KEYS[1]
local presence_member = ARGV[1]

return limited(presence_leave, presence, presence_member)

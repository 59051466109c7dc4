-- Presence::members, after the limiter prelude: the live members.
-- Answers {member, expires at (epoch ms), ...}.
local presence = KEYS[1]
local presence_limit = ARGV[1]

return limited(presence_list, presence, presence_limit)

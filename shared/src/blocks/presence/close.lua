-- Presence::close, after the limiter prelude: removes a group, leaving its tombstone.
-- Answers how many live members it had.
local presence = KEYS[1]
local presence_closed = KEYS[2]
local presence_tombstone_ms = ARGV[1]

return limited(presence_close, presence, presence_closed, presence_tombstone_ms)

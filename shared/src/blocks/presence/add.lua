-- Presence::join and Presence::refresh, after the limiter prelude: a member's new expiry.
-- Answers presence_add's 1 joined, 0 refreshed, -1 closed, -2 not a live member.
local presence = KEYS[1]
local presence_closed = KEYS[2]
local presence_member = ARGV[1]
local presence_ttl_ms = ARGV[2]
local presence_only_live = ARGV[3]

return limited(presence_add, presence, presence_closed, presence_member, presence_ttl_ms,
  presence_only_live)

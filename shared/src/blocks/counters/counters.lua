-- Counters (blocks::counters), for a route script to compose before its own Lua. A counter is
-- sharded: a write adds to one of its shard keys, a read sums them all, so a popular counter
-- never makes its writers wait for one another under key-level locking. Every key is a
-- parameter, from the caller's KEYS.

-- counter_add(total, by, day, day_ttl): adds `by` to one shard of a counter's all-time total
-- and, when `day` is given, to the same shard of that UTC day's bucket, which then expires
-- day_ttl seconds later. Answers the shard's new total.
local function counter_add(total, by, day, day_ttl)
  local count = redis.call('INCRBY', total, by)
  if day then
    redis.call('INCRBY', day, by)
    redis.call('EXPIRE', day, day_ttl)
  end
  return count
end

-- counter_sums(keys, shards): the counts of the counters whose shard keys `keys` lists,
-- `shards` consecutive keys per counter, in order; a missing shard counts 0.
local function counter_sums(keys, shards)
  local width = tonumber(shards)
  local sums = {}
  for first = 1, #keys, width do
    local counts = redis.call('MGET', unpack(keys, first, first + width - 1))
    local sum = 0
    for i = 1, #counts do
      sum = sum + (tonumber(counts[i]) or 0)
    end
    sums[#sums + 1] = sum
  end
  return sums
end

-- flag_change(flag, total, on): sets (on = '1') or clears one user's flag (a like), and counts
-- the change in the counter's shard `total`, so a user is counted at most once however many
-- requests they send. Answers 1 when the flag changed, 0 when it already was so.
local function flag_change(flag, total, on)
  if on == '1' then
    if not redis.call('SET', flag, '1', 'NX') then
      return 0
    end
    counter_add(total, 1)
    return 1
  end
  if redis.call('DEL', flag) == 0 then
    return 0
  end
  counter_add(total, -1)
  return 1
end

-- flags_read(flags): for each flag key, 1 when set and 0 when not.
local function flags_read(flags)
  local set = {}
  if #flags == 0 then
    return set
  end
  local values = redis.call('MGET', unpack(flags))
  for i = 1, #values do
    set[i] = values[i] and 1 or 0
  end
  return set
end

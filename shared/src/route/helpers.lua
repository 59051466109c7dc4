-- Helpers for a route's own Lua, composed behind the limiter prelude in every route script.

-- key_run(first): the route's run of keys (route::Bound::key_run) as a list: KEYS[first] up to
-- the route's last key, before the limiters' keys (RL_FIRST_KEY, from the prelude).
local function key_run(first)
  local run = {}
  for i = first, RL_FIRST_KEY do
    run[#run + 1] = KEYS[i]
  end
  return run
end

-- limited(work, ...): the reply of a route whose whole work is one call (a building block's
-- operation): the limiters' head alone when they refuse the request, else the head followed
-- by work(...)'s value.
local function limited(work, ...)
  local head = rl_enforce()
  if head[1] ~= 1 then
    return head
  end
  return rl_reply(head, work(...))
end

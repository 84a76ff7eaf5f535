#pragma once
// The one Lua script every RedisTransport call that touches more than one key runs, so
// each of them is atomic on the server. ARGV[1] names the operation; KEYS and the other
// ARGV depend on it (listed per operation). Times are milliseconds of the caller's
// injected clock. docs/architecture.md describes the keys and fields.

namespace pipeline::redis_detail {

inline constexpr const char* kScript = R"lua(
local op = ARGV[1]

-- Stream ids "ms-seq" compared as numbers.
local function id_less(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end

local reserved = {['a:pipeline.source_topic'] = true, ['a:pipeline.source_subscription'] = true,
                  ['a:pipeline.delivery_attempts'] = true, ['a:pipeline.last_error'] = true}

-- Moves entry `eid` of the subscription out: acknowledged in its group, recorded in the
-- subscription's dead-letter stream and published to the dead-letter topic.
-- K: stream, groups, due, lease, error, dead, dlq stream, dlq groups.
local function dead_letter(K, group, topic, now, eid, attempts, err)
  local e = redis.call('XRANGE', K[1], eid, eid)
  redis.call('XACK', K[1], group, eid)
  redis.call('HINCRBY', K[2], group, -1)
  redis.call('ZREM', K[3], eid)
  redis.call('HDEL', K[4], eid)
  redis.call('HDEL', K[5], eid)
  if #e == 0 then return end
  local f = e[1][2]
  local id, payload = '', ''
  local rec_attrs, msg_attrs = {}, {}
  for i = 1, #f, 2 do
    local k, v = f[i], f[i + 1]
    if k == 'id' then id = v
    elseif k == 'payload' then payload = v
    elseif string.sub(k, 1, 2) == 'a:' then
      rec_attrs[#rec_attrs + 1] = k; rec_attrs[#rec_attrs + 1] = v
      if not reserved[k] then msg_attrs[#msg_attrs + 1] = k; msg_attrs[#msg_attrs + 1] = v end
    end
  end
  local rec = {'id', id, 'payload', payload, 'topic', topic, 'attempts', tostring(attempts), 'error', err,
               'at', tostring(now)}
  for i = 1, #rec_attrs do rec[#rec + 1] = rec_attrs[i] end
  redis.call('XADD', K[6], '*', unpack(rec))
  local msg = {'id', id, 'payload', payload}
  for i = 1, #msg_attrs do msg[#msg + 1] = msg_attrs[i] end
  msg[#msg + 1] = 'a:pipeline.source_topic'; msg[#msg + 1] = topic
  msg[#msg + 1] = 'a:pipeline.source_subscription'; msg[#msg + 1] = group
  msg[#msg + 1] = 'a:pipeline.delivery_attempts'; msg[#msg + 1] = tostring(attempts)
  msg[#msg + 1] = 'a:pipeline.last_error'; msg[#msg + 1] = err
  redis.call('XADD', K[7], '*', unpack(msg))
  local groups = redis.call('HKEYS', K[8])
  for _, name in ipairs(groups) do redis.call('HINCRBY', K[8], name, 1) end
end

local function forget(K, eid)
  redis.call('ZREM', K[3], eid)
  redis.call('HDEL', K[4], eid)
  redis.call('HDEL', K[5], eid)
end

-- publish. KEYS: stream, groups. ARGV: op, limit, then for each message the number of its
-- field/value strings and those strings. Adds the messages in order while every group of
-- the topic holds fewer than `limit` unacknowledged ones (all or a prefix, never a gap).
-- Returns {messages added, '' or the name of the group at its limit}.
if op == 'publish' then
  local g = redis.call('HGETALL', KEYS[2])
  local limit = tonumber(ARGV[2])
  local room, full = math.huge, ''
  for i = 2, #g, 2 do
    local left = limit - tonumber(g[i])
    if left < room then room, full = left, g[i - 1] end
  end
  local added, i = 0, 3
  while i <= #ARGV and added < room do
    local n = tonumber(ARGV[i])
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
    added = added + 1
    i = i + 1 + n
  end
  if added > 0 then
    for j = 1, #g, 2 do redis.call('HINCRBY', KEYS[2], g[j], added) end
  end
  if i <= #ARGV then return {added, full} end
  return {added, ''}
end

-- subscribe. KEYS: stream, groups, meta. ARGV: op, group, topic.
-- Returns {1, ''} or {0, the topic the subscription already has}.
if op == 'subscribe' then
  local t = redis.call('HGET', KEYS[3], 'topic')
  if t and t ~= ARGV[3] then return {0, t} end
  if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
    redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '$', 'MKSTREAM')
    redis.call('HSET', KEYS[2], ARGV[2], 0)
  end
  redis.call('HSET', KEYS[3], 'topic', ARGV[3])
  return {1, ''}
end

-- KEYS for fetch, ack, nack, reject, extend: stream, groups, due, lease, error, dead,
-- dlq stream, dlq groups. ARGV: op, group, topic, now, then the operation's own.

-- fetch. ARGV[5..]: consumer, ack deadline, max attempts, count.
-- Returns {last stream id, {{entry id, attempt, {field, value, ...}}, ...}}.
if op == 'fetch' then
  local group, topic, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
  local consumer, deadline, max, n = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
  local out = {}
  local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, n)
  for _, eid in ipairs(due) do
    local p = redis.call('XPENDING', KEYS[1], group, eid, eid, 1)
    if #p == 0 then
      forget(KEYS, eid)
    else
      local count = tonumber(p[1][4])
      if count >= max then
        local err = redis.call('HGET', KEYS[5], eid)
        if not err then err = 'ack deadline passed on attempt ' .. count end
        dead_letter(KEYS, group, topic, now, eid, count, err)
      else
        local c = redis.call('XCLAIM', KEYS[1], group, consumer, 0, eid)
        if #c > 0 and type(c[1]) == 'table' and type(c[1][2]) == 'table' then
          redis.call('ZADD', KEYS[3], now + deadline, eid)
          redis.call('HSET', KEYS[4], eid, count + 1)
          out[#out + 1] = {eid, count + 1, c[1][2]}
        else
          -- The entry is gone from the stream: nothing left to deliver.
          redis.call('XACK', KEYS[1], group, eid)
          redis.call('HINCRBY', KEYS[2], group, -1)
          forget(KEYS, eid)
        end
      end
    end
  end
  if #out < n then
    local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', n - #out, 'STREAMS', KEYS[1], '>')
    if type(r) == 'table' and r.err then
      if string.find(r.err, 'NOGROUP') then
        -- The stream or group was lost (a server that restarted without its data):
        -- recreate it and deliver whatever the stream holds.
        redis.call('XGROUP', 'CREATE', KEYS[1], group, '0', 'MKSTREAM')
        if redis.call('HEXISTS', KEYS[2], group) == 0 then redis.call('HSET', KEYS[2], group, 0) end
        r = false
      else
        return redis.error_reply(r.err)
      end
    end
    if r then
      for _, e in ipairs(r[1][2]) do
        local eid, f = e[1], e[2]
        local target = nil
        for i = 1, #f, 2 do if f[i] == 'for' then target = f[i + 1] end end
        if target and target ~= group then
          redis.call('XACK', KEYS[1], group, eid)  -- a replay meant for another subscription
        else
          redis.call('ZADD', KEYS[3], now + deadline, eid)
          redis.call('HSET', KEYS[4], eid, 1)
          out[#out + 1] = {eid, 1, f}
        end
      end
    end
  end
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local last_id = '0-0'
  if #last > 0 then last_id = last[1][1] end
  return {last_id, out}
end

-- ack, nack, reject, extend: ARGV[5] entry id, ARGV[6] the caller's attempt (its lease).
-- Return 1 when done, 0 when the lease is not the live one.
if op == 'ack' or op == 'nack' or op == 'reject' or op == 'extend' then
  local group, topic, now, eid, attempt = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
  if redis.call('HGET', KEYS[4], eid) ~= attempt then return 0 end
  if op == 'ack' then
    redis.call('XACK', KEYS[1], group, eid)
    redis.call('HINCRBY', KEYS[2], group, -1)
    forget(KEYS, eid)
  elseif op == 'extend' then  -- ARGV[7]: the new due time
    redis.call('ZADD', KEYS[3], tonumber(ARGV[7]), eid)
  elseif op == 'reject' then  -- ARGV[7]: reason
    dead_letter(KEYS, group, topic, now, eid, tonumber(attempt), ARGV[7])
  else  -- nack. ARGV[7]: max attempts, ARGV[8]: backoff, ARGV[9]: reason
    if tonumber(attempt) >= tonumber(ARGV[7]) then
      dead_letter(KEYS, group, topic, now, eid, tonumber(attempt), ARGV[9])
    else
      redis.call('HDEL', KEYS[4], eid)
      redis.call('HSET', KEYS[5], eid, ARGV[9])
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[8]), eid)
    end
  end
  return 1
end

-- replay. KEYS: dead, stream, groups. ARGV: op, group, stable id.
-- Returns 1, or 0 when no dead letter has that id.
if op == 'replay' then
  local entries = redis.call('XRANGE', KEYS[1], '-', '+')
  for _, e in ipairs(entries) do
    local f = e[2]
    local id = nil
    for i = 1, #f, 2 do if f[i] == 'id' then id = f[i + 1] end end
    if id == ARGV[3] then
      local msg = {}
      for i = 1, #f, 2 do
        local k = f[i]
        if k == 'id' or k == 'payload' or string.sub(k, 1, 2) == 'a:' then
          msg[#msg + 1] = k; msg[#msg + 1] = f[i + 1]
        end
      end
      msg[#msg + 1] = 'for'; msg[#msg + 1] = ARGV[2]
      redis.call('XADD', KEYS[2], '*', unpack(msg))
      redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
      redis.call('XDEL', KEYS[1], e[1])
      return 1
    end
  end
  return 0
end

-- trim. KEYS: stream. Returns the number of entries removed.
if op == 'trim' then
  local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
  if type(groups) == 'table' and groups.err then return 0 end
  local min = nil
  for _, g in ipairs(groups) do
    local name, last = nil, '0-0'
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    local cand = last
    local p = redis.call('XPENDING', KEYS[1], name, '-', '+', 1)
    if #p > 0 and id_less(p[1][1], cand) then cand = p[1][1] end
    if min == nil or id_less(cand, min) then min = cand end
  end
  if min == nil then return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0) end
  return redis.call('XTRIM', KEYS[1], 'MINID', min)
end

-- idle. KEYS: stream, due. ARGV: op, group, now. Returns 1 when the group has nothing
-- undelivered and nothing due.
if op == 'idle' then
  if redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[3]) > 0 then return 0 end
  local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
  if type(groups) == 'table' and groups.err then return 1 end
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last == 0 then return 1 end
  for _, g in ipairs(groups) do
    local name, delivered = nil, '0-0'
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then delivered = g[i + 1] end
    end
    if name == ARGV[2] then
      if id_less(delivered, last[1][1]) then return 0 end
      return 1
    end
  end
  return 1
end

-- forget-consumer. KEYS: stream. ARGV: op, group, consumer. Deletes the consumer from the
-- group when it holds nothing pending (a closed handler leaves no empty consumers behind).
if op == 'forget-consumer' then
  local p = redis.pcall('XPENDING', KEYS[1], ARGV[2], '-', '+', 1, ARGV[3])
  if type(p) == 'table' and p.err then return 0 end
  if #p > 0 then return 0 end
  redis.pcall('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[2], ARGV[3])
  return 1
end

return redis.error_reply('unknown operation ' .. tostring(op))
)lua";

}  // namespace pipeline::redis_detail

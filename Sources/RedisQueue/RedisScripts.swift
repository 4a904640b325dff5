/// The Lua scripts the queue runs on the server, each atomic there.
enum RedisScripts {
    /// Takes up to ARGV[2] messages, each recorded as unacked in the same atomic step as its pop,
    /// so no crash can fall between the pop and kombu's bookkeeping (where kombu's own consumer
    /// can lose a message). Higher-priority lists are emptied first.
    ///
    /// KEYS: `unacked_index`, `unacked`, then the queue's lists in priority order.
    /// ARGV: the delivery time (Unix seconds), how many messages at most.
    /// Returns `[envelope, delivery_tag or false, envelope, ...]`, empty when every list is.
    static let consume = """
        local taken = {}
        local wanted = 2 * tonumber(ARGV[2])
        for i = 3, #KEYS do
          while #taken < wanted do
            local raw = redis.call('RPOP', KEYS[i])
            if not raw then break end
            local ok, message = pcall(cjson.decode, raw)
            local tag = nil
            if ok and type(message) == 'table' and type(message['properties']) == 'table' then
              local properties = message['properties']
              if type(properties['delivery_tag']) == 'string' then tag = properties['delivery_tag'] end
              local info = properties['delivery_info']
              local exchange, key = '', ''
              if type(info) == 'table' then
                if type(info['exchange']) == 'string' then exchange = info['exchange'] end
                if type(info['routing_key']) == 'string' then key = info['routing_key'] end
              end
              if tag then
                redis.call('ZADD', KEYS[1], ARGV[1], tag)
                redis.call('HSET', KEYS[2], tag,
                  '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(key) .. ']')
              end
            end
            taken[#taken + 1] = raw
            taken[#taken + 1] = tag or false
          end
        end
        return taken
        """

    /// Stores a task's state unless a SUCCESS is already stored (Celery's backend never
    /// overwrites one), publishes it on the key's channel, and acks the delivery.
    ///
    /// KEYS: `celery-task-meta-<id>`, `unacked_index`, `unacked`.
    /// ARGV: the state's JSON, the expiry in seconds (0: none), the delivery tag ('' for none).
    /// Returns 1 when stored, 0 when a SUCCESS was kept.
    static let storeAndAck = """
        local stored = 0
        local current = redis.call('GET', KEYS[1])
        local keep = false
        if current then
          local ok, meta = pcall(cjson.decode, current)
          keep = ok and type(meta) == 'table' and meta['status'] == 'SUCCESS'
        end
        if not keep then
          if tonumber(ARGV[2]) > 0 then
            redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
          else
            redis.call('SET', KEYS[1], ARGV[1])
          end
          redis.call('PUBLISH', KEYS[1], ARGV[1])
          stored = 1
        end
        if ARGV[3] ~= '' then
          redis.call('ZREM', KEYS[2], ARGV[3])
          redis.call('HDEL', KEYS[3], ARGV[3])
        end
        return stored
        """

    /// Puts an unacked message back on its lists, if its entry is still the one read
    /// (a compare-and-set in place of kombu's WATCH/MULTI transaction).
    ///
    /// KEYS: `unacked`, `unacked_index`, then the destination lists.
    /// ARGV: the delivery tag, the entry as read, the payload to push.
    static let restore = """
        if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        for i = 3, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
        return 1
        """

    /// Releases a lock only if this holder's token is still in it (as redis-py's `Lock` does).
    static let unlock = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    /// The command running `script` with `keys` and `arguments`.
    static func eval(_ script: String, keys: [String], arguments: [[UInt8]]) -> RedisCommand {
        RedisCommand(
            bytes: [Array("EVAL".utf8), Array(script.utf8), Array(String(keys.count).utf8)]
                + keys.map { Array($0.utf8) } + arguments)
    }
}

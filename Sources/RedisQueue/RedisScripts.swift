import Crypto
import Foundation

/// The Lua scripts the queue runs on the server, each atomic there.
enum RedisScripts {
    /// Takes up to ARGV[2] messages, each recorded as unacked in the same atomic step as its pop,
    /// so no crash can fall between the pop and kombu's bookkeeping (where kombu's own consumer
    /// can lose a message). Higher-priority lists are emptied first.
    ///
    /// A message's delivery tag, exchange and routing key are read from the end of its text when
    /// it ends as kombu writes it (`"properties": {...}` last, ending with `"delivery_info": {...},
    /// "priority": N, "body_encoding": "base64", "delivery_tag": "..."}}`, no escapes in those
    /// strings, no other object between `"properties": {` and `"delivery_info"`): that reads what
    /// decoding the whole message would, in a fifth of the server's time per task. Any other
    /// message is decoded whole.
    ///
    /// Each delivery is also recorded in this worker's claims (ours: tag → delivery time), so that
    /// after a lost reply the worker can find what it claimed (RedisClaimReconciling.swift).
    ///
    /// KEYS: `unacked_index`, `unacked`, this worker's claims, then the queue's lists in priority
    /// order.
    /// ARGV: the delivery time (Unix seconds), how many messages at most, how long the claims key
    /// lives (milliseconds).
    /// Returns `[envelope, delivery_tag or false, envelope, ...]`, empty when every list is.
    static let consume = RedisScript(
        """
        local kombuEnd = '^"delivery_info": {"exchange": "([^"\\\\]*)", "routing_key": "([^"\\\\]*)"}, '
          .. '"priority": %d+, "body_encoding": "base64", "delivery_tag": "([^"\\\\]+)"}}$'
        local function readEnd(raw)
          local tail = string.sub(raw, -512)
          local properties = string.find(tail, '"properties": {', 1, true)
          if not properties then return nil end
          local info = string.find(tail, '"delivery_info": {', properties, true)
          if not info or string.find(string.sub(tail, properties + 15, info - 1), '[{}]') then return nil end
          return string.match(tail, kombuEnd, info)
        end
        local function record(tag, entry)
          redis.call('ZADD', KEYS[1], ARGV[1], tag)
          redis.call('HSET', KEYS[2], tag, entry)
          redis.call('HSET', KEYS[3], tag, ARGV[1])
        end
        local taken = {}
        local wanted = 2 * tonumber(ARGV[2])
        for i = 4, #KEYS do
          while #taken < wanted do
            local raw = redis.call('RPOP', KEYS[i])
            if not raw then break end
            local exchange, key, tag = readEnd(raw)
            if tag then
              record(tag, '[' .. raw .. ', "' .. exchange .. '", "' .. key .. '"]')
            else
              local ok, message = pcall(cjson.decode, raw)
              if ok and type(message) == 'table' and type(message['properties']) == 'table' then
                local properties = message['properties']
                if type(properties['delivery_tag']) == 'string' then tag = properties['delivery_tag'] end
                local info = properties['delivery_info']
                exchange, key = '', ''
                if type(info) == 'table' then
                  if type(info['exchange']) == 'string' then exchange = info['exchange'] end
                  if type(info['routing_key']) == 'string' then key = info['routing_key'] end
                end
                if tag then
                  record(tag, '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(key) .. ']')
                end
              end
            end
            taken[#taken + 1] = raw
            taken[#taken + 1] = tag or false
          end
        end
        if #taken > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
        return taken
        """)

    /// Stores a task's state unless a SUCCESS is already stored (Celery's backend never
    /// overwrites one), publishes it on the key's channel, and acks the delivery (in kombu's
    /// bookkeeping and this worker's claims).
    ///
    /// KEYS: `unacked_index`, `unacked`, `celery-task-meta-<id>`, this worker's claims.
    /// ARGV: the expiry in seconds (0: none), the state's JSON, the delivery tag ('' for none).
    /// Returns 1 when stored, 0 when a SUCCESS was kept.
    static let storeAndAck = RedisScript(
        """
        local stored = 0
        local current = redis.call('GET', KEYS[3])
        local keep = false
        if current then
          local ok, meta = pcall(cjson.decode, current)
          keep = ok and type(meta) == 'table' and meta['status'] == 'SUCCESS'
        end
        if not keep then
          if tonumber(ARGV[1]) > 0 then
            redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[1])
          else
            redis.call('SET', KEYS[3], ARGV[2])
          end
          redis.call('PUBLISH', KEYS[3], ARGV[2])
          stored = 1
        end
        if ARGV[3] ~= '' then
          redis.call('ZREM', KEYS[1], ARGV[3])
          redis.call('HDEL', KEYS[2], ARGV[3])
          redis.call('HDEL', KEYS[4], ARGV[3])
        end
        return stored
        """)

    /// Puts an unacked message back on its lists, if its entry is still the one read
    /// (a compare-and-set in place of kombu's WATCH/MULTI transaction), and drops it from this
    /// worker's claims (where it is only when this worker claimed it).
    ///
    /// KEYS: `unacked`, `unacked_index`, this worker's claims, then the destination lists.
    /// ARGV: the delivery tag, the entry as read, the payload to push.
    /// Returns 1 when restored, 0 when the entry changed.
    static let restore = RedisScript(
        """
        if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[3], ARGV[1])
        for i = 4, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
        return 1
        """)

    /// Puts back a delivery this worker claimed but runs no more (a claim whose reply was lost,
    /// a give-back that failed), only while it is still exactly the delivery this worker
    /// recorded: its claim still names `ARGV[2]`, and `unacked_index` still scores it so (nobody
    /// restored it and claimed it again, and no live worker's heartbeat moved it) and `unacked`
    /// still holds the entry read. Its claim is dropped either way: a delivery that moved on is
    /// no longer this worker's.
    ///
    /// KEYS: this worker's claims, `unacked`, `unacked_index`, then the destination lists.
    /// ARGV: the delivery tag, its time in the claims, the entry as read ('' when there was
    /// none), the payload to push.
    /// Returns 1 when restored, 0 otherwise.
    static let restoreClaimed = RedisScript(
        """
        if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[1])
        local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
        if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
        if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[3] then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        for i = 4, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[4]) end
        return 1
        """)

    /// Moves the deliveries this worker runs to now, in `unacked_index` and in its claims alike
    /// (so both keep naming the same time), skipping those acked or restored meanwhile, and keeps
    /// the claims key alive.
    ///
    /// KEYS: `unacked_index`, this worker's claims.
    /// ARGV: now (Unix seconds), how long the claims key lives (milliseconds), then the tags.
    static let heartbeat = RedisScript(
        """
        for i = 3, #ARGV do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
            redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
            redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
          end
        end
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return 0
        """)

    /// Releases a lock only if this holder's token is still in it (as redis-py's `Lock` does).
    static let unlock = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)
}

/// A Lua script, run by its SHA-1 digest (`EVALSHA`: the server keeps scripts it has seen),
/// and sent whole (`EVAL`) only when the server does not know it yet, after a restart say.
struct RedisScript: Sendable {
    /// The Lua source.
    let source: String
    /// The source's SHA-1, in hex, as the server names the script.
    let digest: String

    init(_ source: String) {
        self.source = source
        digest = Insecure.SHA1.hash(data: Array(source.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A call of the script with `keys` and `arguments`.
    func call(keys: [String], arguments: [[UInt8]]) -> RedisScriptCall {
        RedisScriptCall(script: self, keys: keys, arguments: arguments)
    }
}

/// One call of a ``RedisScript``.
struct RedisScriptCall: Sendable {
    let script: RedisScript
    let keys: [String]
    let arguments: [[UInt8]]

    /// `EVALSHA`, naming the script by digest.
    var byDigest: RedisCommand { command("EVALSHA", script.digest) }
    /// `EVAL`, with the whole source.
    var whole: RedisCommand { command("EVAL", script.source) }

    private func command(_ name: String, _ script: String) -> RedisCommand {
        RedisCommand(
            bytes: [Array(name.utf8), Array(script.utf8), Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) }
                + arguments)
    }
}

extension [RedisScriptCall] {
    /// The indices of the calls whose script the server did not know (`NOSCRIPT`: it restarted or
    /// flushed its scripts), to send again whole.
    func unknownScripts(in replies: [RESPValue]) -> [Int] {
        replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true }
    }
}

extension RedisClient {
    /// Runs script calls, pipelined, by digest; a call whose script the server does not know is
    /// sent again whole. Error replies are returned, not thrown.
    func evaluate(_ calls: [RedisScriptCall]) async throws(RedisClientError) -> [RESPValue] {
        var replies = try await send(calls.map(\.byDigest))
        let unknown = calls.unknownScripts(in: replies)
        guard !unknown.isEmpty else { return replies }
        for (index, reply) in zip(unknown, try await send(unknown.map { calls[$0].whole })) { replies[index] = reply }
        return replies
    }

    /// Runs one script call.
    ///
    /// - Throws: ``RedisClientError/server(_:)`` for an error reply, and what ``send(_:)`` throws.
    @discardableResult
    func evaluate(_ call: RedisScriptCall) async throws(RedisClientError) -> RESPValue {
        let reply = try await evaluate([call])[0]
        if let message = reply.errorMessage { throw .server("script: \(message)") }
        return reply
    }
}

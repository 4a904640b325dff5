import Synchronization

/// Plain-TCP connections to Redis for callers on threads that may block (the slots' own
/// threads): each call borrows an idle ``SyncRedisConnection``, or opens one, so there are as many
/// as calls at once, and gives it back when it worked.
///
/// It does not wait between failed connects: a caller that sees a connection error should go
/// through ``RedisClient``, which does, until that reconnects.
final class SyncRedisClient: Sendable {
    private let address: RedisAddress
    private let connectTimeout: Duration
    private let replyTimeout: Duration
    private let idle = Mutex<[SyncRedisConnection]>([])

    /// A client for `address` (plain TCP: its `tls` must be nil). Connects and sends wait at most
    /// `connectTimeout` and `replyTimeout`.
    init(address: RedisAddress, connectTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(30)) {
        precondition(address.tls == nil, "SyncRedisClient speaks plain TCP only")
        self.address = address
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
    }

    /// Sends `commands` pipelined and returns their replies in order; error replies are returned,
    /// not thrown. Blocks the calling thread for the round trip.
    ///
    /// - Throws: ``RedisClientError/connection(_:)`` when the server cannot be reached, the
    ///   connection broke or no reply came in time (the commands may or may not have run);
    ///   ``RedisClientError/server(_:)`` when a new connection's login failed.
    func send(_ commands: [RedisCommand]) throws(RedisClientError) -> [RESPValue] {
        let connection: SyncRedisConnection
        if let borrowed = idle.withLock({ $0.popLast() }) {
            connection = borrowed
        } else {
            connection = try SyncRedisConnection.connect(
                to: address, timeout: connectTimeout, replyTimeout: replyTimeout)
        }
        let replies = try connection.send(commands)
        idle.withLock { $0.append(connection) }
        return replies
    }

    /// Runs script calls, pipelined, by digest; a call whose script the server does not know is
    /// sent again whole. Error replies are returned, not thrown.
    func evaluate(_ calls: [RedisScriptCall]) throws(RedisClientError) -> [RESPValue] {
        var replies = try send(calls.map(\.byDigest))
        let unknown = calls.unknownScripts(in: replies)
        guard !unknown.isEmpty else { return replies }
        for (index, reply) in zip(unknown, try send(unknown.map { calls[$0].whole })) { replies[index] = reply }
        return replies
    }

    /// Closes the idle connections (a later call opens a new one).
    func close() {
        idle.withLock { $0.removeAll() }
    }
}

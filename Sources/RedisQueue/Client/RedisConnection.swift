import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to Redis, over TLS for `rediss://`: commands are pipelined, and replies
/// matched to them in order.
///
/// A connection that fails stays failed; ``RedisClient`` makes a new one.
final class RedisConnection: Sendable {
    private let channel: any Channel
    private let end: ConnectionEnd

    private init(channel: any Channel, end: ConnectionEnd) {
        self.channel = channel
        self.end = end
    }

    /// Whether the connection is still open.
    var isActive: Bool { channel.isActive }

    /// Connects within `timeout`, then makes the TLS handshake (`rediss://`), logs in and selects
    /// the database within `timeout` more.
    ///
    /// - Throws: ``RedisClientError/tls(_:)`` naming the host and why its TLS failed,
    ///   ``RedisClientError/connection(_:)`` and ``RedisClientError/server(_:)``.
    static func connect(to endpoint: RedisEndpoint, timeout: Duration) async throws(RedisClientError) -> RedisConnection
    {
        let address = endpoint.address
        let milliseconds = Int64(timeout / .milliseconds(1))
        let end = ConnectionEnd()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(milliseconds))
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tls = endpoint.tls, end] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPFrameDecoder()), RedisReplyHandler(end: end),
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw .connection("cannot connect to \(address.host):\(address.port): \(error)")
        }
        // A server that accepts but never finishes the handshake (a plain port spoken to with
        // rediss://) must not hold the reconnect forever.
        let deadline = channel.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
            channel.pipeline.fireErrorCaught(HandshakeTimedOut(timeout: timeout, tls: endpoint.tls != nil))
        }
        defer { deadline.cancel() }
        let connection = RedisConnection(channel: channel, end: end)
        let handshake = RedisHandshake.commands(for: address)
        let replies: [RESPValue]
        do {
            replies = try await connection.send(handshake)
        } catch .tls(let reason) {
            throw .tls("\(address.host):\(address.port): \(reason)")
        } catch .connection(let reason) where endpoint.tls == nil {
            // A TLS port closes on a client that does not start with a TLS handshake.
            throw .connection("\(reason) before answering (if this is the server's TLS port, write rediss://)")
        }
        do {
            try RedisHandshake.check(replies, of: handshake, at: address)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Sends `commands` in one write and returns their replies in order (error replies included).
    func send(_ commands: [RedisCommand]) async throws(RedisClientError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        guard channel.isActive else { throw end.error }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(commands.reduce(0) { $0 + $1.encodedSize })
        for command in commands { command.encode(into: &bytes) }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        // A write that cannot reach the reply handler (the channel closed meanwhile, and its handlers
        // are gone) fails here, with the reason the connection ended (a TLS failure, say).
        channel.writeAndFlush(RedisRequest(bytes: bytes, replies: commands.count, promise: promise)).whenFailure {
            [end] _ in promise.fail(end.error)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as RedisClientError {
            throw error
        } catch {
            throw .connection("\(error)")
        }
    }

    /// Closes the connection; commands waiting for replies fail.
    func close() {
        channel.close(promise: nil)
    }
}

/// The server took longer than the connect timeout to answer the first commands.
struct HandshakeTimedOut: Error, CustomStringConvertible {
    var timeout: Duration
    /// Whether the connection began with a TLS handshake.
    var tls: Bool

    var description: String {
        // A plain Redis port reads a TLS ClientHello as the start of a command line, and waits.
        "no answer within \(timeout) of connecting"
            + (tls ? ": the server may not speak TLS on this port (write redis:// for a plain port)" : "")
    }
}

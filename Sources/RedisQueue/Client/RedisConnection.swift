import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to Redis, over TLS for `rediss://`: commands are pipelined, and replies
/// matched to them in order.
///
/// A connection that fails stays failed; ``RedisClient`` makes a new one.
final class RedisConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Whether the connection is still open.
    var isActive: Bool { channel.isActive }

    /// Connects, makes the TLS handshake (`rediss://`), logs in and selects the database, each
    /// step within `timeout`.
    ///
    /// - Throws: ``RedisClientError/tls(_:)`` naming the host and why its TLS failed,
    ///   ``RedisClientError/connection(_:)`` and ``RedisClientError/server(_:)``.
    static func connect(to endpoint: RedisEndpoint, timeout: Duration) async throws(RedisClientError) -> RedisConnection
    {
        let address = endpoint.address
        let milliseconds = Int64(timeout / .milliseconds(1))
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(milliseconds))
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tls = endpoint.tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPFrameDecoder()), RedisReplyHandler(),
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
        let connection = RedisConnection(channel: channel)
        var handshake: [RedisCommand] = []
        if let password = address.password {
            handshake.append(
                address.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if address.database != 0 { handshake.append(RedisCommand("SELECT", String(address.database))) }
        handshake.append(RedisCommand("CLIENT", "SETNAME", "launch-worker"))
        let replies: [RESPValue]
        do {
            replies = try await connection.send(handshake)
        } catch .tls(let reason) {
            throw .tls("\(address.host):\(address.port): \(reason)")
        } catch .connection(let reason) where endpoint.tls == nil {
            // A TLS port closes on a client that does not start with a TLS handshake.
            throw .connection("\(reason) before answering (if this is the server's TLS port, write rediss://)")
        }
        for (command, reply) in zip(handshake, replies) {
            if let message = reply.errorMessage {
                connection.close()
                if command.name == "AUTH" {
                    throw .server(
                        "Redis refused the password (\(message)): check the URL's user-info or --redis-password-file")
                }
                throw .server("\(command.name) failed at \(address): \(message)")
            }
        }
        return connection
    }

    /// Sends `commands` in one write and returns their replies in order (error replies included).
    func send(_ commands: [RedisCommand]) async throws(RedisClientError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        guard channel.isActive else { throw .connection("the connection to Redis is closed") }
        var bytes: [UInt8] = []
        for command in commands { command.encode(into: &bytes) }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(bytes: bytes, replies: commands.count, promise: promise), promise: nil)
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

/// Commands on their way to the server and the promise of their replies.
struct RedisRequest: Sendable {
    var bytes: [UInt8]
    var replies: Int
    var promise: EventLoopPromise<[RESPValue]>
}

/// Cuts the byte stream into RESP values.
struct RESPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue
    let parser = RESPParser()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let parsed = try buffer.withUnsafeReadableBytes { bytes in try parser.parse(bytes) }
        guard let (value, length) = parsed else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: length)
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Writes requests and hands each reply to the oldest request still waiting, in order.
final class RedisReplyHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var expected: Int
        var replies: [RESPValue]
        let promise: EventLoopPromise<[RESPValue]>
    }

    private var waiting = CircularBuffer<Waiting>()
    /// Set once the channel went inactive: no reply can come any more.
    private var inactive = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        // A request written after the channel closed (it closed between `send`'s check and this
        // write) would wait for ever: nothing fails it later.
        guard !inactive else {
            request.promise.fail(RedisClientError.connection("the connection to Redis closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        waiting.append(Waiting(expected: request.replies, replies: [], promise: request.promise))
        let buffer = context.channel.allocator.buffer(bytes: request.bytes)
        // A write that fails leaves the stream out of step with the replies: close, which
        // fails every waiting request.
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in channel.close(promise: nil) }
        written.futureResult.cascade(to: promise)
        context.write(wrapOutboundOut(buffer), promise: written)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push = value { return }  // out-of-band: no command waits for it
        guard !waiting.isEmpty else { return }
        waiting[waiting.startIndex].replies.append(value)
        if waiting[waiting.startIndex].replies.count == waiting[waiting.startIndex].expected {
            let done = waiting.removeFirst()
            done.promise.succeed(done.replies)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        failAll(.connection("the connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisClientError(channelError: error))
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisClientError) {
        while let next = waiting.popFirst() { next.promise.fail(error) }
    }
}

@available(*, unavailable)
extension RedisReplyHandler: Sendable {}

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

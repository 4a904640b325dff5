import NIOCore
import Synchronization

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
    private let end: ConnectionEnd
    private var flushScheduled = false

    init(end: ConnectionEnd) {
        self.end = end
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
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

    /// Flushes once the event loop has run the writes already queued for it: commands that slots
    /// send at about the same time leave in one system call.
    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            context.flush()
        }
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
        failAll(end.record(.connection("the connection to Redis closed")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(end.record(RedisClientError(channelError: error)))
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisClientError) {
        while let next = waiting.popFirst() { next.promise.fail(error) }
    }
}

@available(*, unavailable)
extension RedisReplyHandler: Sendable {}

/// Why a connection ended: the first failure its channel saw, kept for the requests sent after
/// it (a TLS handshake can fail before the first command is written).
final class ConnectionEnd: Sendable {
    private let reason = Mutex<RedisClientError?>(nil)

    /// Records `error` unless an earlier failure was recorded, and returns the one recorded.
    func record(_ error: RedisClientError) -> RedisClientError {
        reason.withLock { reason in
            let recorded = reason ?? error
            reason = recorded
            return recorded
        }
    }

    /// The failure recorded, or a plain close.
    var error: RedisClientError {
        reason.withLock { $0 } ?? .connection("the connection to Redis closed")
    }
}

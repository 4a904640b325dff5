import NIOCore
import NIOPosix
import Synchronization

/// Kept-alive HTTP/1.1 connections to sync workers' Unix sockets, one request at a time on each.
/// A connection serves the requests of the event loop it was opened on, so a request arriving on
/// a loop is forwarded and answered on that loop with no hop to another thread.
final class UpstreamPool: Sendable {
    private struct Key: Hashable {
        var socket: String
        var loop: ObjectIdentifier
    }

    /// Connections between requests, by worker socket and event loop.
    private let idle = Mutex<[Key: [any Channel]]>([:])

    /// Sends `POST /predict` with `body` to the worker listening at `socket`, from `eventLoop`;
    /// the future completes on that loop.
    ///
    /// A kept-alive connection that the worker closed before answering (it closes idle
    /// connections after a while, and when it stops) is retried once on a new connection.
    func predict(_ body: ByteBuffer, socket: String, on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamAnswer> {
        let key = Key(socket: socket, loop: ObjectIdentifier(eventLoop))
        guard let channel = takeIdle(key) else {
            return connect(key, on: eventLoop).flatMap { self.send(body, on: $0, key: key) }
        }
        return send(body, on: channel, key: key).flatMapError { error in
            guard case UpstreamFailure.closedBeforeAnswer = error else {
                return eventLoop.makeFailedFuture(error)
            }
            return self.connect(key, on: eventLoop).flatMap { self.send(body, on: $0, key: key) }
        }
    }

    /// Closes every idle connection (the gateway stops).
    func closeAll() {
        let channels = idle.withLock { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for channel in channels { channel.close(promise: nil) }
    }

    private func send(_ body: ByteBuffer, on channel: any Channel, key: Key) -> EventLoopFuture<UpstreamAnswer> {
        let promise = channel.eventLoop.makePromise(of: UpstreamAnswer.self)
        channel.writeAndFlush(UpstreamRequest(body: body, answer: promise), promise: nil)
        return promise.futureResult.map { answer in
            if answer.reusable, channel.isActive {
                self.idle.withLock { $0[key, default: []].append(channel) }
            } else {
                channel.close(promise: nil)
            }
            return answer
        }
    }

    private func takeIdle(_ key: Key) -> (any Channel)? {
        idle.withLock { idle in
            while let channel = idle[key]?.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    private func connect(_ key: Key, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(unixDomainSocketPath: key.socket)
            .map { channel in
                // A connection the worker closes leaves the idle list.
                channel.closeFuture.whenComplete { _ in
                    self.idle.withLock { idle in
                        idle[key]?.removeAll { $0 === channel }
                        if idle[key]?.isEmpty == true { idle[key] = nil }
                    }
                }
                return channel
            }
            .flatMapErrorThrowing { error in throw UpstreamFailure.unreachable("\(error)") }
    }
}

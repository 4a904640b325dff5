import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP server of a worker process in a pool (`serve --processes`): the same routes and
/// channel handlers as a single worker's, on connections accepted from a listening socket the
/// pool's supervisor opened and every worker process inherited, so the kernel spreads
/// connections among them with no proxy in between.
///
/// Hummingbird's `Application` can only bind an address of its own, so this accepts with a
/// ``SharedSocketAcceptor`` and runs Hummingbird's HTTP/1.1 channel on each connection. A
/// graceful shutdown stops this process accepting (the others still do), then closes its idle
/// connections and lets in-flight requests finish, as Hummingbird's own server does.
struct SharedSocketServer: Service {
    /// The inherited listening socket.
    let descriptor: Int32
    /// The HTTP/1.1 channel that answers each accepted connection.
    let channel: HTTP1Channel
    /// Whether to take a connection now, given how many this process has open.
    let readiness: @Sendable (Int) -> SharedSocketAcceptor.Readiness
    /// Called once the server accepts, with the port it accepts on (TCP).
    let onServerRunning: @Sendable (Int?) async -> Void
    let logger: Logger

    /// An HTTP/1.1 channel answering with `router`, as `Application` sets one up.
    static func channel(
        router: Router<BasicRequestContext>, configuration: HTTP1Channel.Configuration, serverName: String,
        logger: Logger
    ) -> HTTP1Channel {
        let responder = router.buildResponder()
        return HTTP1Channel(
            responder: { request, writer, channel in
                let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    response = Response(status: .internalServerError)
                }
                response.headers[.server] = serverName
                try await writer.write(response: response.head, body: response.body)
            }, configuration: configuration)
    }

    func run() async throws {
        let open = OpenConnections()
        let acceptor = SharedSocketAcceptor(descriptor: descriptor) { [readiness] in readiness(open.count) }
        let connections = acceptor.start()
        await onServerRunning(ListenAddress.port(boundTo: descriptor))
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await connection in connections {
                    group.addTask { await serve(connection, open: open) }
                }
            }
        } onGracefulShutdown: {
            acceptor.stop()
            open.quiesce()
        }
    }

    /// Answers the requests on one accepted connection until it closes.
    private func serve(_ connection: Int32, open: OpenConnections) async {
        let value: HTTP1Channel.Value
        do {
            value = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(connection) { [channel, logger] in channel.setup(channel: $0, logger: logger) }
        } catch {
            logger.warning("cannot serve an accepted connection: \(error)")
            return
        }
        open.opened(value.channel)
        defer { open.closed(value.channel) }
        await channel.handle(value: value, logger: logger)
    }
}

/// The connections a ``SharedSocketServer`` serves, told to quiesce when it stops.
///
/// A connection accepted moments before the stop may not have had its first request read yet,
/// and quiescing would close it as idle, unanswered, although its client did nothing wrong; so a
/// connection younger than ``firstRequestGrace`` is told only once it is that old (by then its
/// request is in flight, and finishes).
private final class OpenConnections: Sendable {
    /// How long a new connection has to start its first request before a stop may close it.
    static let firstRequestGrace = TimeAmount.seconds(1)

    private let state = Mutex((quiescing: false, channels: [ObjectIdentifier: (any Channel, NIODeadline)]()))

    func opened(_ channel: any Channel) {
        let now = NIODeadline.now()
        let quiescing = state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = (channel, now)
            return state.quiescing
        }
        if quiescing { Self.quiesce(channel, openedAt: now) }
    }

    /// How many connections are open.
    var count: Int { state.withLock { $0.channels.count } }

    func closed(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes idle connections and lets those in flight finish their request, then close.
    func quiesce() {
        let channels = state.withLock { state in
            state.quiescing = true
            return Array(state.channels.values)
        }
        for (channel, opened) in channels { Self.quiesce(channel, openedAt: opened) }
    }

    private static func quiesce(_ channel: any Channel, openedAt opened: NIODeadline) {
        let due = opened + firstRequestGrace
        guard due > .now() else {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            return
        }
        channel.eventLoop.scheduleTask(deadline: due) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}

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
/// graceful shutdown stops this process accepting (the others still do), lets in-flight
/// requests finish and answers those already on their way on the connections it holds, each
/// connection closing after its last answer (`Connection: close`), or after a grace when idle.
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
        let loops = MultiThreadedEventLoopGroup.singleton
        let open = OpenConnections()
        let acceptor = SharedSocketAcceptor(
            descriptor: descriptor, readiness: { [readiness] in readiness(open.count) }, accepted: open.accepted)
        let connections = acceptor.start()
        await onServerRunning(ListenAddress.port(boundTo: descriptor))
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await connection in connections {
                    group.addTask { await serve(connection, on: loops, open: open) }
                }
            }
        } onGracefulShutdown: {
            acceptor.stop()
            open.quiesce()
        }
    }

    /// Answers the requests on one accepted connection until it closes.
    private func serve(_ connection: Int32, on loops: any EventLoopGroup, open: OpenConnections) async {
        let value: HTTP1Channel.Value
        do {
            value = try await ClientBootstrap(group: loops)
                .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(connection) { [channel, logger] in channel.setup(channel: $0, logger: logger) }
        } catch {
            open.ended(nil)
            logger.warning("cannot serve an accepted connection: \(error)")
            return
        }
        open.opened(value.channel)
        defer { open.ended(value.channel) }
        await channel.handle(value: value, logger: logger)
    }
}

/// The connections a ``SharedSocketServer`` serves, counted from the moment each is accepted
/// (so an acceptor taking several at once sees each one it took), and told to quiesce when the
/// server stops.
///
/// An idle connection quiesced is not closed at once: ``InterceptingHandler`` gives it
/// ``PredictEndpoint/idleGraceOnQuiesce`` for a request already on its way, which covers a
/// connection accepted moments before the stop whose first request was not read yet.
private final class OpenConnections: Sendable {
    private let state = Mutex((quiescing: false, accepted: 0, channels: [ObjectIdentifier: any Channel]()))

    /// Counts a connection just accepted, before its channel exists.
    func accepted() {
        state.withLock { $0.accepted += 1 }
    }

    /// How many connections are accepted and not closed yet.
    var count: Int { state.withLock { $0.accepted } }

    func opened(_ channel: any Channel) {
        let quiescing = state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = channel
            return state.quiescing
        }
        if quiescing { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// Uncounts a connection accepted: closed, or never served.
    func ended(_ channel: (any Channel)?) {
        state.withLock { state in
            state.accepted -= 1
            if let channel { state.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Closes idle connections (after their grace) and lets those in flight finish their
    /// request, then close.
    func quiesce() {
        let channels = state.withLock { state in
            state.quiescing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The sync endpoint as a `Service`: Hummingbird's HTTP/1.1 server (keep-alive and pipelining)
/// on a TCP address or an owner-only Unix socket, with `POST /predict` answered on NIO's event
/// loop by an ``InterceptingHandler`` (with a ``PredictInterceptor``) in each connection's pipeline, behind a
/// ``ConnectionTimeoutHandler`` that closes connections whose client keeps it waiting.
/// Graceful shutdown stops accepting (new connections are refused), closes idle connections,
/// lets in-flight requests finish and answers 503 to those pipelined behind them; the last
/// `/predict` answer on each connection says `Connection: close`.
public struct HTTPServer: Service {
    /// How the endpoint behaves.
    public struct Configuration: Sendable {
        /// Where to listen.
        public var address: ListenAddress
        /// The largest request body accepted (413 above).
        public var maxBodyBytes = 100 << 20
        /// Answer 429 at once when every slot is busy, rather than waiting.
        public var failOnConcurrencyLimit = false
        /// How many requests may wait for a slot before more are answered 429.
        public var maxQueuedRequests = 1024
        /// The bearer token required on `/predict` and `/metrics`, if any.
        public var token: BearerToken?
        /// How long a request head may take to arrive, from its first byte (408, then closed).
        /// Any client sends a head at once; 10 s allows a slow link and stops a client that
        /// trickles one.
        public var headerTimeout = Duration.seconds(10)
        /// How long a request body may take to arrive, from its head (408, then closed). 60 s
        /// carries the largest default body (100 MiB) at 1.8 MB/s; large bodies over slow links
        /// need more.
        public var bodyTimeout = Duration.seconds(60)
        /// How long a kept-alive connection may wait for its next request (then closed). Longer
        /// than the 60 s idle timeout of common load balancers and proxies (AWS's ALB, nginx's
        /// upstream keep-alive), so they close first and never send on a connection the worker
        /// is closing.
        public var idleTimeout = Duration.seconds(75)
        /// A listening socket inherited from a pool's supervisor (`serve --processes`), accepted
        /// on instead of binding `address` (which then only names it).
        public var sharedSocket: Int32?
        /// With ``sharedSocket``: a file that exists while the pool's supervisor answers on the
        /// socket itself. This process accepts only while it is absent, so no request it could
        /// take is refused by the supervisor as it hands the socket over.
        public var supervisorAnsweringFile: String?
        /// In a pool, how `/metrics` labels this process and where the pool's series are.
        public var poolMetrics: PoolMetrics?

        /// Listen on `address` with the defaults: 100 MiB bodies, waiting for a slot, 10 s for a
        /// head, 60 s for a body, 75 s between requests.
        public init(address: ListenAddress) {
            self.address = address
        }
    }

    private let server: any Service
    private let endpoint: PredictEndpoint

    /// An endpoint that listens at once (so `/healthz` answers while the bundle loads) and
    /// answers `/predict` once ``attach(_:inputs:)`` gives it the runner; it marks its part of the
    /// worker started once it listens.
    public init(readiness: Readiness, metrics: WorkerMetrics, configuration: Configuration, logger: Logger) {
        let endpoint = PredictEndpoint(
            readiness: readiness, metrics: metrics, configuration: configuration, logger: logger)
        self.endpoint = endpoint
        let address = configuration.address
        let channelConfiguration = HTTP1Channel.Configuration(additionalChannelHandlers: [
            ConnectionTimeoutHandler(configuration: configuration, metrics: endpoint.httpMetrics, logger: logger),
            InterceptingHandler(interceptor: PredictInterceptor(endpoint: endpoint)),
        ])
        let onServerRunning: @Sendable (Int?) async -> Void = { port in
            if case .unix = address, configuration.sharedSocket == nil { umask(0o022) }
            let bound = Self.boundAddress(address, port)
            logger.info("listening", metadata: ["address": "\(bound)"])
            readiness.partStarted(detail: "listen \(bound)")
        }
        if let descriptor = configuration.sharedSocket {
            server = SharedSocketServer(
                descriptor: descriptor,
                channel: SharedSocketServer.channel(
                    router: endpoint.router(), configuration: channelConfiguration, serverName: Self.serverName,
                    logger: logger),
                readiness: endpoint.acceptance(openConnections:),
                onServerRunning: onServerRunning, logger: logger)
            return
        }
        if case .unix(let path) = address {
            unlink(path)  // a socket left by a worker that died
            // The socket is created owner-only: no moment exists when others could connect.
            umask(0o077)
        }
        server = Application(
            router: endpoint.router(),
            server: .http1(configuration: channelConfiguration),
            configuration: .init(address: address.bindAddress, serverName: Self.serverName),
            onServerRunning: { await onServerRunning($0.localAddress?.port) },
            logger: logger)
    }

    /// The `Server` header of every answer.
    static let serverName = "launch-worker"

    /// Starts answering `/predict` with `runner`, reading requests' inputs as `inputs` allows
    /// (requests come from the network: local files only under `--url-root`).
    public func attach(_ runner: TaskRunner, inputs: InputPolicy) {
        endpoint.attach(runner, inputs: inputs)
    }

    public func run() async throws {
        // Cancelled, the server cancels the requests it runs; those answered on the event loop
        // run in tasks of their own, cancelled here alike.
        try await withTaskCancellationHandler {
            try await server.run()
        } onCancel: { [endpoint] in
            endpoint.inFlight.cancelAll()
        }
    }

    /// The address with the port the system chose for port 0.
    private static func boundAddress(_ address: ListenAddress, _ port: Int?) -> ListenAddress {
        guard case .tcp(let host, _) = address, let port else { return address }
        return .tcp(host: host, port: port)
    }
}

/// ServiceLifecycle names each service in its logs with `"\(service)"`; without a description of
/// its own, Swift would spell out every stored property of the server (its router, its
/// handlers) on each such line, and take milliseconds of the worker's start doing it.
extension HTTPServer: CustomStringConvertible {
    public var description: String { "HTTPServer(\(endpoint.configuration.address))" }
}

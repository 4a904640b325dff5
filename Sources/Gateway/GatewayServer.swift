import Foundation
import HTTPEndpoint
import Hummingbird
import Logging
import ServiceLifecycle

/// `launch-worker gateway` as a `Service`: the Launch REST API on Hummingbird, its state in
/// SQLite under the state folder. On start it brings every recorded endpoint back to its wanted
/// workers (async tasks queued before a restart wait in their spools and are answered); on
/// graceful shutdown it stops listening, then drains every endpoint's workers.
public struct GatewayServer: Service {
    /// How the gateway runs.
    public struct Configuration: Sendable {
        /// Where it listens (TCP).
        public var address: ListenAddress
        /// Where its database, bundles, spools, results and logs live.
        public var stateDirectory: URL
        /// The `launch-worker` executable its workers run.
        public var executable: String
        /// The API keys allowed in (`--api-keys-file`); nil allows any (loopback only).
        public var apiKeys: Set<String>?
        /// How long the load must stay below an endpoint's workers before one is stopped.
        public var scaleDownCooldown = Duration.seconds(60)
        /// How long a sync request waits for a ready worker before 503.
        public var readyWait = Duration.seconds(60)
        /// A file written with `listen HOST:PORT` once the gateway listens (port 0 picks one).
        public var readyFile: URL?
        /// `redis://...`: async endpoints queue on this broker, as llm-engine's do, instead of
        /// spools.
        public var broker: String?
        /// The broker's password (`--redis-password-file`), over the URL's user-info.
        public var brokerPassword: String?
        /// The passphrase of the broker's TLS client key (`--redis-ssl-password-file`), over the
        /// URL's `ssl_password=`.
        public var brokerKeyPassphrase: String?
        /// The host's GPUs (their indices) that endpoints with `gpus > 0` get, each worker its own.
        public var gpuDevices: [String] = []
        /// How long async tasks, pickled results, ended batch jobs and stopped workers' logs are
        /// kept (a day, as Celery keeps results).
        public var keepResults = Duration.seconds(86_400)
        /// The size at which a worker's log is cut, its earlier part kept as `worker-<n>.log.1`.
        public var workerLogLimit: UInt64 = 16 << 20

        public init(address: ListenAddress, stateDirectory: URL, executable: String) {
            self.address = address
            self.stateDirectory = stateDirectory
            self.executable = executable
        }
    }

    private let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The broker of `--broker url`, its password (if any) for workers in `state/broker-password`.
    private static func broker(_ url: String, configuration: Configuration) throws(GatewayRefusal) -> RedisBroker {
        let state = configuration.stateDirectory
        do {
            return try RedisBroker(
                url: url, password: configuration.brokerPassword, keyPassphrase: configuration.brokerKeyPassphrase,
                passwordFile: state.appending(path: "broker-password"),
                keyPassphraseFile: state.appending(path: "broker-ssl-password"))
        } catch let refusal as GatewayRefusal {
            throw refusal
        } catch {
            throw GatewayRefusal(.internalServerError, "--broker: \(error)")
        }
    }

    public func run() async throws {
        guard case .tcp(let host, let port) = configuration.address else {
            throw GatewayRefusal(.internalServerError, "the gateway listens on TCP: give --listen HOST:PORT")
        }
        let state = configuration.stateDirectory
        for folder in ["bundles", "results", "logs", "spools", "sockets"] {
            try FileManager.default.createDirectory(
                at: state.appending(path: folder), withIntermediateDirectories: true)
        }
        let queues = EndpointQueues(
            broker: try configuration.broker.map { url throws(GatewayRefusal) in
                try Self.broker(url, configuration: configuration)
            })
        let database = try await StateDatabase.open(state.appending(path: "gateway.sqlite"), logger: logger)
        let workerLogs = WorkerLogRelay(limit: configuration.workerLogLimit, logger: logger)
        let context = EndpointRunner.Context(
            executable: configuration.executable, stateDirectory: state,
            scaleDownCooldown: configuration.scaleDownCooldown, readyWait: configuration.readyWait,
            queues: queues, gpus: GPUInventory(devices: configuration.gpuDevices),
            workerLogs: workerLogs, logger: logger)
        let syncRoutes = SyncRoutes()
        let fleet = EndpointFleet(context: context, syncRoutes: syncRoutes)
        let batchJobs = BatchJobFleet(stateDirectory: state, executable: configuration.executable, logger: logger)
        let pool = UpstreamPool()
        var expiry: Task<Void, Never>?
        var failure: (any Error)?
        do {
            try await bringBack(from: database, fleet: fleet, batchJobs: batchJobs)
            expiry = Task { [logger, configuration] in
                await StateExpiry(
                    database: database, fleet: fleet, batchJobs: batchJobs, stateDirectory: state,
                    keep: configuration.keepResults, logger: logger
                ).run()
            }
            try await serve(
                host: host, port: port, database: database, fleet: fleet, batchJobs: batchJobs, syncRoutes: syncRoutes,
                pool: pool)
        } catch {
            failure = error
        }
        expiry?.cancel()
        await expiry?.value
        logger.info("draining endpoints")
        await fleet.stopAll()
        await batchJobs.stopAll()
        pool.closeAll()
        await database.close()
        if let readyFile = configuration.readyFile { try? FileManager.default.removeItem(at: readyFile) }
        logger.info("gateway stopped")
        if let failure { throw failure }
    }

    /// Brings back what the state folder holds: each endpoint to its wanted workers, each batch job
    /// that had not finished.
    private func bringBack(from database: StateDatabase, fleet: EndpointFleet, batchJobs: BatchJobFleet) async throws {
        for (owner, endpoint) in try await database.allEndpoints() {
            logger.info(
                "bringing back endpoint", metadata: ["endpoint": "\(endpoint.name)", "endpoint_id": "\(endpoint.id)"])
            try await fleet.launch(endpoint, owner: owner)
        }
        for job in try await database.allBatchJobs() { await batchJobs.launch(job) }
    }

    /// Answers the API on `host:port` until the service group shuts down.
    private func serve(
        host: String, port: Int, database: StateDatabase, fleet: EndpointFleet, batchJobs: BatchJobFleet,
        syncRoutes: SyncRoutes, pool: UpstreamPool
    ) async throws {
        let state = configuration.stateDirectory
        let authentication = APIKeyAuthentication(
            allowedOwners: configuration.apiKeys.map { Set($0.map(APIKeyAuthentication.owner(ofKey:))) })
        let metrics = GatewayMetrics()
        let forwarding = SyncForwarding(
            routes: syncRoutes, pool: pool, authentication: authentication, metrics: metrics,
            results: state.appending(path: "results"))
        let routes = GatewayRoutes(
            database: database, fleet: fleet, batchJobs: batchJobs,
            folders: BundleFolders(root: state.appending(path: "bundles")),
            forwarding: forwarding, authentication: authentication, results: state.appending(path: "results"),
            metrics: metrics, logger: logger)
        let readyFile = configuration.readyFile
        let logger = logger
        let application = Application(
            router: routes.router(),
            server: .http1(
                configuration: .init(additionalChannelHandlers: [
                    InterceptingHandler(interceptor: SyncInterceptor(forwarding: forwarding))
                ])),
            configuration: .init(address: .hostname(host, port: port), serverName: "launch-worker-gateway"),
            onServerRunning: { channel in
                let bound = ListenAddress.tcp(host: host, port: channel.localAddress?.port ?? port)
                logger.info("gateway listening", metadata: ["address": "\(bound)", "state_dir": "\(state.path)"])
                if let readyFile { try? Data("listen \(bound)\n".utf8).write(to: readyFile, options: .atomic) }
            },
            logger: logger)
        try await application.run()
    }
}

/// ServiceLifecycle names each service in its logs with `"\(service)"`. Without a description of
/// its own, Swift would spell out the whole configuration there, API keys and the broker's
/// password among it, at `--log-level debug`.
extension GatewayServer: CustomStringConvertible {
    public var description: String { "GatewayServer(\(configuration.address))" }
}

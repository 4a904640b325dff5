import Foundation
import HTTPEndpoint
import Logging
import RedisQueue
import ServiceLifecycle
import SpoolQueue
import WorkerCore

/// The worker behind `serve`'s front ends: loads the bundle, then runs the task runner and the
/// spool loop (if any) until graceful shutdown, and lends the runner to the HTTP endpoint (if
/// any), which already listens while the bundle loads.
struct WorkerService: Service {
    /// Everything `serve` decided before the bundle loads.
    struct Plan: Sendable {
        var bundle: String?
        var runtime: RuntimeOptions
        var perWorker: Int
        var runner: TaskRunner.Configuration
        var spool: (layout: SpoolLayout, configuration: SpoolQueue.Configuration)?
        var loop: QueueWorker.Configuration
        var resultsDir: URL?
        var redis: (endpoint: RedisEndpoint, configuration: RedisTaskQueue.Configuration)? = nil
    }

    let plan: Plan
    let readiness: Readiness
    let metrics: WorkerMetrics
    let http: HTTPServer?
    let logger: Logger
    /// Called with the slots once they exist, so a signal can wake their waiters.
    let slotsReady: @Sendable (SlotPool) -> Void

    func run() async throws {
        // A wrong broker address, password or certificate fails at once, not after the bundle's load.
        let redis = try await connectedQueue(plan.redis)
        let session = try await BundleSession.open(plan.bundle, runtime: plan.runtime, logger: logger)
        defer { session.close() }
        metrics.bundleLoaded(in: session.bundle.loadDuration)
        let spool = try plan.spool.map { spool throws(CLIError) in
            do {
                return try SpoolQueue(layout: spool.layout, configuration: spool.configuration, logger: logger)
            } catch {
                throw CLIError(message: "\(error)")
            }
        }
        let results = plan.resultsDir ?? spool?.layout.results ?? ResultsFolder.default
        let slots = try await SlotPool(interpreter: session.interpreter, count: plan.perWorker)
        slotsReady(slots)
        let runner = TaskRunner(
            executor: TaskExecutor(
                bundle: session.bundle, results: DirectoryResultStore(folder: results), logger: logger),
            interpreter: session.interpreter, slots: slots, readiness: readiness, metrics: metrics,
            configuration: plan.runner)
        http?.attach(runner)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: runner)]
        if let spool {
            let worker = QueueWorker(queue: spool, runner: runner, configuration: plan.loop, logger: logger)
            services += [
                .init(service: spool), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
            ]
            logger.info(
                "serving the spool", metadata: ["queue": "\(spool.layout.root.path)", "worker_id": "\(spool.workerID)"])
        }
        if let redis {
            let worker = QueueWorker(queue: redis, runner: runner, configuration: plan.loop, logger: logger)
            services += [
                .init(service: redis), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
            ]
            logger.info("serving the Celery queue", metadata: ["broker": "\(redis.address)"])
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        readiness.partStarted()
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            Task { await group.triggerGracefulShutdown() }
        }
        // A signal drains the loops before the group reaches this service (the HTTP endpoint
        // goes first); ending now would look to the group like an unexpected finish, so wait
        // for its turn.
        if readiness.current == .draining { try? await gracefulShutdown() }
    }

    /// The Redis queue, if the plan has one, once the broker has answered (and taken the password).
    private func connectedQueue(
        _ redis: (endpoint: RedisEndpoint, configuration: RedisTaskQueue.Configuration)?
    ) async throws(CLIError) -> RedisTaskQueue? {
        guard let redis else { return nil }
        let queue = RedisTaskQueue(endpoint: redis.endpoint, configuration: redis.configuration, logger: logger)
        do {
            try await queue.checkConnection()
        } catch {
            throw CLIError(message: "cannot use the Redis broker at \(redis.endpoint): \(error)")
        }
        return queue
    }
}

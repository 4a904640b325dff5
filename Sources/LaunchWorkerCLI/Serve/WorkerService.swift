import Foundation
import Logging
import ServiceLifecycle
import WorkerCore

/// The worker behind `serve`'s front ends: readies each front end, loads the bundle, then runs
/// the task runner and whatever the front ends start (a queue's serving loop) until graceful
/// shutdown. The HTTP endpoint, which already listens while the bundle loads, gets the runner.
struct WorkerService: Service {
    /// Everything `serve` decided before the bundle loads.
    struct Plan: Sendable {
        var bundle: String?
        var runtime: RuntimeOptions
        var perWorker: Int
        var runner: TaskRunner.Configuration
        var resultsFolder: URL
        var frontEnds: [any FrontEnd]
    }

    let plan: Plan
    let readiness: Readiness
    let metrics: WorkerMetrics
    let logger: Logger
    /// Called with the slots once they exist, so a signal can wake their waiters.
    let slotsReady: @Sendable (SlotPool) -> Void

    func run() async throws {
        // A wrong broker address, password or certificate fails at once, not after the bundle's load.
        var starts: [StartServing] = []
        for frontEnd in plan.frontEnds { starts.append(try await frontEnd.prepare()) }
        let session = try await BundleSession.open(plan.bundle, runtime: plan.runtime, logger: logger)
        defer { session.close() }
        metrics.bundleLoaded(in: session.bundle.loadDuration)
        let waits: PythonSlot.Waits =
            plan.frontEnds.contains { $0.slotsWait == .brokerRoundTrips } ? .brokerRoundTrips : .calls
        let slots = SlotPool(try await session.makeSlots(count: plan.perWorker, waits: waits))
        slotsReady(slots)
        let runner = TaskRunner(
            executor: RequestExecutor(results: DirectoryResultStore(folder: plan.resultsFolder), logger: logger),
            slots: slots, readiness: readiness, metrics: metrics, configuration: plan.runner)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: runner)]
        for start in starts { services += try start(runner) }
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
}

/// ServiceLifecycle names each service in its logs with `"\(service)"`; without a description of
/// its own, Swift would spell out the whole plan (every option, each front end, the bundle's
/// address with any token in it) on each such line, and take milliseconds of the start doing it.
extension WorkerService: CustomStringConvertible {
    var description: String { "WorkerService" }
}

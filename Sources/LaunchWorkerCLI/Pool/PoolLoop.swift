import Foundation
import Logging
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor's loop, on its own thread: every ``tick`` it reaps the worker processes that
/// ended, restarts those whose backoff has passed, follows their ready files into the pool's
/// readiness, and drains them all once a signal asks.
///
/// A tick is short enough for an orchestrator (readiness follows within it) and long enough to
/// cost nothing: the loop never spins, whatever its processes do.
final class PoolLoop: @unchecked Sendable {
    /// How often the loop looks at its processes.
    static let tick = Duration.milliseconds(100)

    private let plan: PoolSupervisor.Plan
    private let listener: SharedListener?
    private let folder: String
    private let control: PoolControl
    private let readiness: Readiness
    private let logger: Logger
    private let clock = ContinuousClock()
    private var places: [PoolPlace]
    private var draining = false
    /// Whether a worker has been ready yet (the pool's readiness is `starting` until then).
    private var everReady = false
    private var ready = false

    init(
        plan: PoolSupervisor.Plan, listener: SharedListener?, folder: String, control: PoolControl,
        readiness: Readiness, logger: Logger
    ) {
        self.plan = plan
        self.listener = listener
        self.folder = folder
        self.control = control
        self.readiness = readiness
        self.logger = logger
        places = (0..<plan.processes).map(PoolPlace.init)
    }

    /// Runs until every place is finished.
    func run() {
        for index in places.indices { start(index) }
        while !places.allSatisfy(\.finished) {
            if control.stopping, !draining { drain() }
            let now = clock.now
            for index in places.indices { look(at: index, now: now) }
            if !draining {
                for index in places.indices where places[index].restartAt.map({ $0 <= now }) ?? false {
                    start(index)
                }
            }
            follow(ready: places.contains { $0.readySince != nil })
            guard !places.allSatisfy(\.finished) else { break }
            usleep(UInt32(Self.tick.milliseconds * 1000))
        }
    }

    private func start(_ index: Int) {
        places[index].restartAt = nil
        do {
            let process = try WorkerProcess.start(
                index: index, arguments: plan.arguments, environment: plan.environment(index),
                listener: listener?.descriptor, readyFile: "\(folder)/worker-\(index).ready")
            control.started(process.pid)
            places[index].process = process
            logger.info("started worker process", metadata: ["process": "\(index)", "pid": "\(process.pid)"])
        } catch {
            let delay = places[index].died(at: clock.now)
            logger.error(
                "\(error.message); trying again in \(delay.formattedSeconds)", metadata: ["process": "\(index)"])
        }
    }

    /// Reaps the place's process if it ended, else notes whether it is ready.
    private func look(at index: Int, now: ContinuousClock.Instant) {
        guard let process = places[index].process else { return }
        guard let exit = process.exited() else {
            if process.isReady {
                if places[index].readySince == nil { places[index].readySince = now }
            } else {
                places[index].readySince = nil
            }
            return
        }
        control.reaped(process.pid)
        if exit != .exited(0), let afterDeath = plan.afterDeath {
            Task { [pid = process.pid] in await afterDeath(pid) }
        }
        let metadata: Logger.Metadata = ["process": "\(index)", "pid": "\(process.pid)", "exit": "\(exit)"]
        if draining || (plan.exitWhenEmpty && exit == .exited(0)) {
            places[index].process = nil
            places[index].readySince = nil
            places[index].finished = true
            logger.info("worker process exited", metadata: metadata)
            return
        }
        let delay = places[index].died(at: now)
        let lines = process.stderr.last.map { "  \($0)" }.joined(separator: "\n")
        logger.error(
            "worker process died (\(exit)\(exit == .exited(3) ? ", as after a stuck task" : "")); restarting it in \(delay.formattedSeconds) (\(places[index].deathsInARow) in a row); its last stderr lines:\n\(lines)",
            metadata: metadata)
    }

    /// Passes the stop on to every worker process; places waiting for a restart are done.
    private func drain() {
        draining = true
        readiness.drain()
        for index in places.indices {
            if let process = places[index].process {
                process.send(SIGTERM)
            } else {
                places[index].finished = true
            }
        }
    }

    /// Mirrors whether any worker process is ready in the pool's readiness.
    private func follow(ready now: Bool) {
        guard now != ready else { return }
        ready = now
        if now, !everReady {
            everReady = true
            readiness.partStarted(detail: listener.map { "listen \($0.address)" })
        } else if now {
            readiness.lift(.noWorkerProcessReady)
        } else {
            readiness.hold(.noWorkerProcessReady)
        }
    }
}

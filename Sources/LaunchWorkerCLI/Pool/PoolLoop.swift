import Foundation
import Logging
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor's loop, on its own thread: every ``tick`` it reaps the worker processes that
/// ended, restarts those whose backoff has passed, recycles those due (PoolLoop+Recycling.swift),
/// follows their ready files into the pool's readiness, and drains them all once a signal asks.
///
/// A tick is short enough for an orchestrator (readiness follows within it) and long enough to
/// cost nothing: the loop never spins, whatever its processes do.
///
/// `@unchecked Sendable` because it is handed to the thread it runs on; from then on only that
/// thread touches its state (the signal handlers reach it through ``PoolControl``).
final class PoolLoop: @unchecked Sendable {
    /// How often the loop looks at its processes.
    static let tick = Duration.milliseconds(100)

    let plan: PoolSupervisor.Plan
    let listener: SharedListener?
    let folder: String
    let control: PoolControl
    let readiness: Readiness
    /// The supervisor's answers on the listening socket while no worker process is ready.
    let probes: PoolProbeAnswerer?
    let logger: Logger
    let clock = ContinuousClock()
    var places: [PoolPlace]
    var draining = false
    /// Whether a worker has been ready yet (the pool's readiness is `starting` until then).
    private var everReady = false
    private var ready = false
    /// The rolling restart under way: the places still to replace, in order, each place's
    /// generation at the SIGHUP (a later one is fresh already), whether the first one's
    /// replacement has begun, and the SIGHUPs seen.
    var rolling: (places: [Int], generations: [Int], begun: Bool, reloads: Int) = ([], [], false, 0)
    /// The pool's gauges as last published, and its restarts so far.
    var gauges = PoolGauges(wanted: 0)

    init(
        plan: PoolSupervisor.Plan, listener: SharedListener?, folder: String, control: PoolControl,
        readiness: Readiness, probes: PoolProbeAnswerer?, logger: Logger
    ) {
        self.plan = plan
        self.listener = listener
        self.folder = folder
        self.control = control
        self.readiness = readiness
        self.probes = probes
        self.logger = logger
        places = (0..<plan.processes).map(PoolPlace.init)
        gauges = PoolGauges(wanted: plan.processes)
    }

    /// Runs until nothing runs in any place.
    func run() {
        for index in places.indices { restart(index) }
        while !places.allSatisfy(\.idle) {
            if control.stopping, !draining { drain() }
            let now = clock.now
            if !draining { advanceRollingRestart() }
            for index in places.indices {
                look(at: index, now: now)
                recycle(index, now: now)
            }
            if !draining {
                for index in places.indices where places[index].restartAt.map({ $0 <= now }) ?? false {
                    restart(index)
                }
            }
            follow(ready: places.contains { $0.readySince != nil })
            publishGauges()
            guard !places.allSatisfy(\.idle) else { break }
            usleep(UInt32(Self.tick.milliseconds * 1000))
        }
    }

    /// Starts a process in place `index`, with a ready file of its own; nil when it cannot
    /// start (logged).
    func spawn(_ index: Int) -> WorkerProcess? {
        places[index].generation += 1
        let readyFile = "\(folder)/worker-\(index)-\(places[index].generation).ready"
        var environment = plan.environment(index)
        environment[PoolMember.folderVariable] = folder
        environment[PoolMember.sizeVariable] = String(plan.processes)
        if let maxTasks = plan.maxTasksPerProcess {
            environment[PoolMember.maxTasksVariable] = String(maxTasks)
            environment[PoolMember.recycleFileVariable] = readyFile + ".recycle"
        }
        do {
            let process = try WorkerProcess.start(
                index: index, arguments: plan.arguments, environment: environment, listener: listener?.descriptor,
                readyFile: readyFile)
            control.started(process.pid)
            if places[index].generation > 1 { gauges.restarts += 1 }
            logger.info("started worker process", metadata: ["process": "\(index)", "pid": "\(process.pid)"])
            return process
        } catch {
            logger.error("\(error.message)", metadata: ["process": "\(index)"])
            return nil
        }
    }

    /// Starts the place's process after a death (or at first).
    private func restart(_ index: Int) {
        places[index].restartAt = nil
        if let process = spawn(index) {
            places[index].process = process
        } else {
            let delay = places[index].died(at: clock.now)
            logger.error("trying again in \(delay.formattedSeconds)", metadata: ["process": "\(index)"])
        }
    }

    /// Reaps a process that ended (and restores its Redis deliveries when it did not exit 0);
    /// nil while it runs.
    func reap(_ process: WorkerProcess) -> ChildExit? {
        guard let exit = process.exited() else { return nil }
        control.reaped(process.pid)
        if exit != .exited(0), let afterDeath = plan.afterDeath {
            Task { [pid = process.pid] in await afterDeath(pid) }
        }
        return exit
    }

    /// The log line's tail for a process that died: its last stderr lines.
    func lastLines(of process: WorkerProcess) -> String {
        process.stderr.last.map { "  \($0)" }.joined(separator: "\n")
    }

    /// Reaps the place's process if it ended, else notes whether it is ready.
    private func look(at index: Int, now: ContinuousClock.Instant) {
        guard let process = places[index].process else { return }
        guard let exit = reap(process) else {
            if process.isReady {
                if places[index].readySince == nil { places[index].readySince = now }
            } else {
                places[index].readySince = nil
            }
            return
        }
        let metadata: Logger.Metadata = ["process": "\(index)", "pid": "\(process.pid)", "exit": "\(exit)"]
        if draining || (plan.exitWhenEmpty && exit == .exited(0)) {
            places[index].process = nil
            places[index].readySince = nil
            places[index].finished = true
            logger.info("worker process exited", metadata: metadata)
            return
        }
        let described = "worker process died (\(exit)\(exit == .exited(3) ? ", as after a stuck task" : ""))"
        if let successor = places[index].successor {
            // A replacement is already on its way: it takes the place at once.
            places[index].process = successor
            places[index].successor = nil
            places[index].restartRequested = false
            places[index].readySince = nil
            logger.error(
                "\(described); its replacement takes its place; its last stderr lines:\n\(lastLines(of: process))",
                metadata: metadata)
            return
        }
        let delay = places[index].died(at: now)
        logger.error(
            "\(described); restarting it in \(delay.formattedSeconds) (\(places[index].deathsInARow) in a row); its last stderr lines:\n\(lastLines(of: process))",
            metadata: metadata)
    }

    /// Passes the stop on to every worker process; places waiting for a restart are done.
    private func drain() {
        draining = true
        readiness.drain()
        for index in places.indices {
            places[index].successor?.send(SIGTERM)
            if let process = places[index].process {
                process.send(SIGTERM)
            } else {
                places[index].finished = true
            }
        }
    }

    /// Mirrors whether any worker process is ready in the pool's readiness, and has the
    /// supervisor answer on the listening socket while none is.
    private func follow(ready now: Bool) {
        guard now != ready else { return }
        ready = now
        probes?.answering = !now
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

import CLinux
import Foundation
import HTTPEndpoint
import Logging
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// `serve --processes P`: a supervisor, with no Python of its own, that keeps P worker processes
/// (``WorkerProcess``) serving the same queue and/or the same listening socket
/// (``SharedListener``), restarts one that dies after a backoff (``PoolPlace``), writes the
/// pool's ready file while one of them is ready, passes SIGTERM/SIGINT on to them, and on SIGHUP
/// replaces them one at a time (PoolLoop+RollingRestart.swift).
struct PoolSupervisor {
    /// What the pool runs.
    struct Plan {
        /// How many worker processes.
        var processes: Int
        /// The supervisor's command line, program name first, which the workers get again.
        var arguments: [String]
        /// The address to listen on for every worker, if any.
        var listen: ListenAddress?
        /// The pool's ready file, if any.
        var readyFile: URL?
        /// Whether a worker process that exits 0 is done (it found the queue empty).
        var exitWhenEmpty = false
        /// Variables a worker process gets besides the supervisor's, by index.
        var environment: @Sendable (Int) -> [String: String] = { _ in [:] }
        /// After how many tasks a worker process is recycled.
        var maxTasksPerProcess: Int?
        /// Above how much resident memory a worker process is recycled.
        var maxRSSPerProcess: UInt64?
        /// What to do once a worker process that did not exit 0 is reaped (restore its Redis
        /// deliveries), given its pid.
        var afterDeath: (@Sendable (pid_t) async -> Void)?
    }

    let plan: Plan
    let logger: Logger

    /// Runs the pool until it has drained after a signal, or, with `--exit-when-empty`, until
    /// every worker process has exited 0.
    func run() async throws(CLIError) {
        let listener = try plan.listen.map { address throws(CLIError) in try SharedListener.open(address) }
        defer { if let listener { close(listener.descriptor) } }
        let folder = try workerFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let control = PoolControl()
        let signals = SignalHandling(
            logger: logger, shutdown: { control.stop() }, exiting: { _ in control.signalAll(SIGKILL) },
            snapshot: { control.signalAll(SIGUSR1) },
            reload: { control.reload() })
        defer { withExtendedLifetime(signals) {} }
        logger.info(
            "starting a pool",
            metadata: ["processes": "\(plan.processes)", "listen": "\(listener.map { "\($0.address)" } ?? "none")"])
        let readiness = Readiness(readyFile: plan.readyFile)
        let probes = listener.map {
            PoolProbeAnswerer(descriptor: $0.descriptor, readiness: readiness, folder: folder)
        }
        probes?.start()
        defer { probes?.stop() }
        let loop = PoolLoop(
            plan: plan, listener: listener, folder: folder, control: control, readiness: readiness, probes: probes,
            logger: logger)
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            // One thread starts and reaps every worker process: each is killed when the thread
            // that started it ends (``PoolMember/join()``), so it must live as long as they do.
            Thread {
                clinux_name_this_thread("pool-members")
                loop.run()
                finished.resume()
            }.start()
        }
        logger.info("the pool stopped")
    }

    /// A folder of the supervisor's own for its workers' ready files.
    private func workerFolder() throws(CLIError) -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/launch-worker-pool-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CLIError(
                message: "cannot make a folder for the pool's ready files: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }
}

/// What the signal handlers tell the supervisor's loop, and the processes they may kill.
final class PoolControl: Sendable {
    private let state = Mutex((stopping: false, reloads: 0, pids: Set<pid_t>()))

    /// Asks the loop to drain the pool.
    func stop() { state.withLock { $0.stopping = true } }

    /// Whether the pool is to drain.
    var stopping: Bool { state.withLock { $0.stopping } }

    /// Asks the loop for a rolling restart (SIGHUP).
    func reload() { state.withLock { $0.reloads += 1 } }

    /// How many rolling restarts were asked for so far.
    var reloads: Int { state.withLock { $0.reloads } }

    /// Records a started worker process.
    func started(_ pid: pid_t) { _ = state.withLock { $0.pids.insert(pid) } }

    /// Records a reaped worker process.
    func reaped(_ pid: pid_t) { _ = state.withLock { $0.pids.remove(pid) } }

    /// Sends `signal` to every worker process: SIGKILL on a second SIGTERM, SIGUSR1 passed on
    /// (each logs its metrics).
    func signalAll(_ signal: Int32) {
        for pid in state.withLock({ $0.pids }) { kill(pid, signal) }
    }
}

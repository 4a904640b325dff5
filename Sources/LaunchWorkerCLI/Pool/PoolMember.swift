import Foundation
import HTTPEndpoint
import Logging
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process's side of a pool (see ``PoolSupervisor``): the variables the supervisor
/// marks it with, read once when `serve` starts.
struct PoolMember {
    /// The variable holding the worker's index in the pool.
    static let indexVariable = "LAUNCH_WORKER_POOL_INDEX"
    /// The variable holding the supervisor's process id.
    static let supervisorVariable = "LAUNCH_WORKER_POOL_SUPERVISOR"
    /// The variable naming the descriptor of the shared listening socket, with `--listen`.
    static let listenerVariable = "LAUNCH_WORKER_POOL_LISTENER"
    /// The variable holding `--max-tasks-per-process`.
    static let maxTasksVariable = "LAUNCH_WORKER_POOL_MAX_TASKS"
    /// The variable naming the file the worker makes to ask to be recycled.
    static let recycleFileVariable = "LAUNCH_WORKER_POOL_RECYCLE_FILE"
    /// The variable naming the pool's folder (its gauges, each process's metrics).
    static let folderVariable = "LAUNCH_WORKER_POOL_FOLDER"
    /// The variable holding how many worker processes the pool runs.
    static let sizeVariable = "LAUNCH_WORKER_POOL_SIZE"

    /// The worker's index in the pool.
    let index: Int
    /// The shared listening socket, with `--listen`.
    let listener: Int32?
    /// After how many tasks it asks to be recycled, and the file that asks.
    let recycling: (maxTasks: Int, file: String)?
    /// The pool's folder, whose metrics files `/metrics` shows.
    let folder: String
    /// How many worker processes the pool runs.
    let size: Int

    /// The pool this process works in, nil when it is not a pool's worker.
    ///
    /// Forgets the supervisor's marker (a process the bundle starts is no pool member), keeps the
    /// socket from the programs the bundle executes, and asks to be killed when the supervisor
    /// dies, so a killed supervisor leaves no worker behind.
    ///
    /// - Throws: ``CLIError`` when the supervisor is already gone.
    static func join() throws(CLIError) -> PoolMember? {
        let environment = ProcessInfo.processInfo.environment
        guard let supervisor = environment[supervisorVariable].flatMap(pid_t.init),
            let index = environment[indexVariable].flatMap(Int.init)
        else { return nil }
        let listener = environment[listenerVariable].flatMap(Int32.init)
        let maxTasks = environment[maxTasksVariable].flatMap(Int.init)
        let recycleFile = environment[recycleFileVariable]
        let folder = environment[folderVariable] ?? ""
        let size = environment[sizeVariable].flatMap(Int.init) ?? 1
        for variable in [
            supervisorVariable, listenerVariable, maxTasksVariable, recycleFileVariable, folderVariable, sizeVariable,
        ] {
            unsetenv(variable)
        }
        if let listener { _ = fcntl(listener, F_SETFD, FD_CLOEXEC) }
        ParentDeathSignal.arm()
        // The supervisor may have died before the request above, and then nobody would send it.
        guard getppid() == supervisor else {
            throw CLIError(message: "the pool's supervisor ended before worker process \(index) started")
        }
        let recycling = maxTasks.flatMap { limit in recycleFile.map { (limit, $0) } }
        return PoolMember(index: index, listener: listener, recycling: recycling, folder: folder, size: size)
    }

    /// Asks the supervisor to recycle this process once it has run its `--max-tasks-per-process`
    /// (checked every ``recycleCheck``; it serves on until the supervisor drains it, once the
    /// replacement is ready).
    func watchTaskCount(_ metrics: WorkerMetrics, logger: Logger) {
        guard let (maxTasks, file) = recycling else { return }
        Task.detached {
            while metrics.tasksRun < maxTasks { try? await Task.sleep(for: Self.recycleCheck) }
            logger.info(
                "ran --max-tasks-per-process tasks: asking the supervisor to recycle this process",
                metadata: ["tasks": "\(metrics.tasksRun)"])
            _ = FileManager.default.createFile(atPath: file, contents: nil)
        }
    }

    /// The file that exists while the supervisor answers on the listening socket itself: worker
    /// processes accept only while it is absent (``PoolProbeAnswerer``).
    var supervisorAnsweringFile: String { PoolProbeAnswerer.answeringFile(in: folder) }

    /// How `/metrics` shows the pool from this process.
    var poolMetrics: PoolMetrics { PoolMetrics(processIndex: index, folder: folder) }

    /// With `--listen`, leaves this process's metrics for its siblings' `/metrics` every
    /// ``PoolMetrics/publishInterval``, for as long as the process lives.
    func publishMetrics(_ metrics: WorkerMetrics) {
        guard listener != nil else { return }
        let pool = poolMetrics
        Task.detached {
            while true {
                pool.publish(metrics.snapshot())
                try? await Task.sleep(for: PoolMetrics.publishInterval)
            }
        }
    }

    /// How often a worker process looks at its task count.
    static let recycleCheck = Duration.milliseconds(100)
}

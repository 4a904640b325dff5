import Foundation
import Logging
import Synchronization

/// Keeps every running worker's log under `--worker-log-size`: a thread of its own looks at
/// each every 0.1 s (``WorkerLog/keep(under:)``), whatever its endpoint is doing (rolling out,
/// failed, draining), and never on Swift's cooperative pool, where a copy of a large log would
/// hold up the gateway's tasks.
final class WorkerLogKeeper: Sendable {
    private struct State {
        var logs: Set<WorkerLog> = []
        /// Logs whose cut failed, said once each.
        var failed: Set<WorkerLog> = []
        var stopped = false
    }

    private let limit: UInt64
    private let logger: Logger
    private let state = Mutex(State())

    /// A keeper cutting logs over `limit` bytes; ``start()`` starts its thread.
    init(limit: UInt64, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Starts looking at the logs, until ``stop()``.
    func start() {
        let thread = Thread { [self] in
            while let logs = state.withLock({ $0.stopped ? nil : $0.logs }) {
                for log in logs { keep(log) }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        thread.name = "worker-logs"
        thread.start()
    }

    /// Ends the thread after its current look.
    func stop() {
        state.withLock { $0.stopped = true }
    }

    /// Looks after `log` from now on (a worker started).
    func watch(_ log: WorkerLog) {
        state.withLock { _ = $0.logs.insert(log) }
    }

    /// Stops looking after `log` (its worker is gone).
    func forget(_ log: WorkerLog) {
        state.withLock { state in
            state.logs.remove(log)
            state.failed.remove(log)
        }
    }

    private func keep(_ log: WorkerLog) {
        do {
            try log.keep(under: limit)
            state.withLock { _ = $0.failed.remove(log) }
        } catch {
            let first = state.withLock { $0.failed.insert(log).inserted }
            if first { logger.error("a worker's log cannot be cut; it grows past --worker-log-size: \(error)") }
        }
    }
}

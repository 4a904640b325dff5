import Synchronization

/// The tasks running `/predict` requests answered on the event loop, which no structured task
/// owns: cancelling the server cancels them (``cancelAll()``), as it cancels the requests
/// Hummingbird runs, so each is answered "the worker stopped before the request finished".
final class InFlightPredicts: Sendable {
    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Runs `operation` in a new task that prefers `executor`; cancelled at once if the server
    /// already was.
    func start(on executor: (any TaskExecutor)?, _ operation: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            let id = state.next
            state.next += 1
            // Made under the lock, so the task's own removal (below) always comes after this.
            let task = Task(executorPreference: executor) {
                await operation()
                self.finished(id)
            }
            if state.cancelled { task.cancel() }
            state.tasks[id] = task
        }
    }

    /// Cancels every running task, and every later one.
    func cancelAll() {
        let tasks = state.withLock { state in
            state.cancelled = true
            return Array(state.tasks.values)
        }
        tasks.forEach { $0.cancel() }
    }

    private func finished(_ id: Int) {
        state.withLock { _ = $0.tasks.removeValue(forKey: id) }
    }
}

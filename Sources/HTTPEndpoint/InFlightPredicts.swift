import Synchronization

/// The tasks running `/predict` requests answered on the event loop, which no structured task
/// owns: cancelling the server cancels them (``cancelAll()``), as it cancels the requests
/// Hummingbird runs, so each is answered "the worker stopped before the request finished".
final class InFlightPredicts: Sendable {
    private struct State {
        var tasks: [Int: Task<Void, Never>] = [:]
        /// Tasks that ended before ``start(on:_:)`` recorded them.
        var ended: Set<Int> = []
    }

    private let state = Mutex(State())
    private let nextID = Atomic<Int>(0)
    /// Set by ``cancelAll()`` before it looks at the tasks.
    private let cancelled = Atomic(false)

    /// Runs `operation` in a new task that prefers `executor`; cancelled before `operation`
    /// starts if the server already was.
    func start(on executor: (any TaskExecutor)?, _ operation: @escaping @Sendable () async -> Void) {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        // Made outside the lock: starting the task wakes the executor's thread, and a trivial
        // predict ends, and wants the lock, before the event loop would have let it go; the two
        // threads then spun on it for a tenth of the slot's time.
        let task = Task(executorPreference: executor) {
            if self.cancelled.load(ordering: .acquiring) { withUnsafeCurrentTask { $0?.cancel() } }
            await operation()
            self.finished(id)
        }
        let recorded = state.withLock { state in
            if state.ended.remove(id) != nil { return false }
            state.tasks[id] = task
            return true
        }
        // Recorded after cancelAll() looked: cancelled here.
        if recorded, cancelled.load(ordering: .acquiring) { task.cancel() }
    }

    /// Cancels every running task, and every later one.
    func cancelAll() {
        cancelled.store(true, ordering: .releasing)
        let tasks = state.withLock { Array($0.tasks.values) }
        tasks.forEach { $0.cancel() }
    }

    private func finished(_ id: Int) {
        state.withLock { state in
            if state.tasks.removeValue(forKey: id) == nil { state.ended.insert(id) }
        }
    }
}

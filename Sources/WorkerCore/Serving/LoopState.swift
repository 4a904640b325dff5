import Synchronization

/// A claimed task while it runs, and who settles it: its own run (answering it, or giving it
/// back when cancelled), or the serving loop giving it back at the drain deadline while its run
/// is still busy on the slot's thread. Whoever settles first decides; the other leaves it.
final class InFlightTask: Sendable {
    /// The task.
    let task: QueuedTask
    /// The Swift task running it (and the tasks its slot claims after it).
    let run: SlotRun
    private let settled = Mutex(false)

    init(_ task: QueuedTask, run: SlotRun) {
        self.task = task
        self.run = run
    }

    /// Marks the task settled; false when it already was (by the other party).
    func settle() -> Bool {
        settled.withLock { settled in
            defer { settled = true }
            return !settled
        }
    }

    /// Cancels its run: a predict that has not started is skipped, and its slot claims no more.
    func cancel() { run.cancel() }
}

/// The Swift task that runs a slot's tasks one after another, kept to be cancelled.
final class SlotRun: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Keeps the Swift task.
    func attach(_ task: Task<Void, Never>) { self.task.withLock { $0 = task } }

    /// Cancels it.
    func cancel() { task.withLock { $0 }?.cancel() }
}

/// The serving loop's shared state: what is in flight, whether it drains, and how long to pause
/// claiming after a storage failure.
///
/// Every slot reads the flags after every task, so they are atomics, read without the lock: with
/// more slots than cores, a slot preempted while holding a shared lock kept the others spinning.
final class LoopState: Sendable {
    private struct State {
        var running: [String: InFlightTask] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var storagePause: Duration?
        var pauseConsumed = true
        /// Why the queue cannot be used, while it cannot.
        var queueUnavailable: String?
    }

    private let state = Mutex(State())
    private let isDraining = Atomic(false)
    /// Whether a storage failure is not yet followed by a stored answer (``State/storagePause``
    /// is set).
    private let storageFailing = Atomic(false)
    /// Whether ``State/queueUnavailable`` is set, read without the lock after every claim.
    private let queueFailing = Atomic(false)

    var inFlight: Int { state.withLock { $0.running.count } }
    var draining: Bool { isDraining.load(ordering: .relaxed) }
    /// The tasks in flight now.
    var running: [InFlightTask] { state.withLock { Array($0.running.values) } }

    func beginDrain() { isDraining.store(true, ordering: .relaxed) }

    func taskStarted(_ task: InFlightTask) { state.withLock { $0.running[task.task.id] = task } }

    /// `next` starts where `done` leaves, in one step: the loop never sees nothing in flight
    /// in between.
    func task(_ done: InFlightTask, continuedBy next: InFlightTask) {
        state.withLock { state in
            state.running[done.task.id] = nil
            state.running[next.task.id] = next
        }
    }

    func taskLeft(_ task: InFlightTask) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running[task.task.id] = nil
            guard state.running.isEmpty else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits until nothing is in flight; false when `timeout` passed first.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let idle = self.state.withLock { state -> Bool in
                        if state.running.isEmpty { return true }
                        state.idleWaiters.append(continuation)
                        return false
                    }
                    if idle { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            if first {
                group.cancelAll()
            }
            // The idle waiter cannot be cancelled; on a timeout the group would wait for it, so
            // release it by hand.
            self.releaseIdleWaiters()
            return first
        }
    }

    private func releaseIdleWaiters() {
        let waiters = state.withLock { state in
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Doubles the pause after a storage failure (from 0.5 s up to 30 s) and returns it.
    func storageFailed() -> Duration {
        state.withLock { state in
            let next = min((state.storagePause ?? .milliseconds(250)) * 2, .seconds(30))
            state.storagePause = next
            state.pauseConsumed = false
            storageFailing.store(true, ordering: .relaxed)
            return next
        }
    }

    func storageSucceeded() {
        guard storageFailing.load(ordering: .relaxed) else { return }
        state.withLock { state in
            state.storagePause = nil
            storageFailing.store(false, ordering: .relaxed)
        }
    }

    /// Whether the last answer was stored (no storage failure since).
    var storageHealthy: Bool { !storageFailing.load(ordering: .relaxed) }

    /// Records that the queue cannot be used, for `reason`; true when that is news (it could be
    /// used before, or for another reason).
    func queueUnavailable(_ reason: String) -> Bool {
        state.withLock { state in
            defer {
                state.queueUnavailable = reason
                queueFailing.store(true, ordering: .relaxed)
            }
            return state.queueUnavailable != reason
        }
    }

    /// Records that a claim worked; true when the queue could not be used before.
    func queueAvailable() -> Bool {
        guard queueFailing.load(ordering: .relaxed) else { return false }
        return state.withLock { state in
            defer {
                state.queueUnavailable = nil
                queueFailing.store(false, ordering: .relaxed)
            }
            return state.queueUnavailable != nil
        }
    }

    /// A pause to take before the next claim, once per storage failure.
    func claimPause() -> Duration? {
        state.withLock { state in
            guard !state.pauseConsumed, let pause = state.storagePause else { return nil }
            state.pauseConsumed = true
            return pause
        }
    }
}

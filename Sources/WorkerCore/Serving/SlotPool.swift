import Synchronization

/// The worker's `per_worker` slots, lent to one task at a time.
///
/// A task that holds a slot has it alone: with ``PythonSlot``s, a thread of its own, so tasks
/// whose predict releases the GIL (sleep, I/O, numpy, torch) overlap for real.
public final class SlotPool: Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<(any Slot)?, Never>
        /// Whether it is a queue's serving loop (not a request).
        let servesQueue: Bool
    }

    private struct State {
        var free: [any Slot]
        var waiters: [Waiter] = []
        var closed = false

        /// A free slot, the one the caller runs on when that one is free.
        mutating func takeFree() -> (any Slot)? {
            if let own = free.firstIndex(where: \.isCurrent) { return free.remove(at: own) }
            return free.popLast()
        }
    }

    private let state: Mutex<State>
    /// ``State/closed``, read without the lock (every slot reads it after every task).
    private let closed = Atomic(false)
    /// How many requests (not serving loops) wait for a slot; read without the lock.
    private let requestsWaitingCount = Atomic(0)

    /// How many slots there are.
    public let count: Int
    /// Every slot, free or not: a caller that runs its tasks on their executors still acquires
    /// a slot before running a request.
    public let all: [any Slot]
    /// The executor every slot prefers, when they all prefer the same one (a worker's
    /// ``PythonSlot``s share their threads): a request that waits for a slot waits there, so the
    /// slot given back resumes it without a hand-off.
    public let sharedExecutor: (any TaskExecutor)?

    /// A pool lending `slots`.
    public init(_ slots: [any Slot]) {
        self.state = Mutex(State(free: slots))
        self.count = slots.count
        self.all = slots
        let first = slots.first?.executor
        self.sharedExecutor = slots.allSatisfy { $0.executor === first } ? first : nil
    }

    /// Whether a request waits for a slot: a slot that serves a queue then gives itself back
    /// after its task rather than claim its next one.
    public var requestsWaiting: Bool { requestsWaitingCount.load(ordering: .relaxed) > 0 }

    /// How many callers (requests and serving loops) wait for a slot.
    public var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Whether a slot is free now (a pool's worker process, busy, leaves new connections to idle
    /// siblings first).
    public var hasFreeSlot: Bool { state.withLock { !$0.closed && !$0.free.isEmpty } }

    /// Whether the pool was closed (a stuck worker's exit).
    public var isClosed: Bool { closed.load(ordering: .relaxed) }

    /// Takes a free slot if one is free now.
    public func tryAcquire() -> (any Slot)? {
        state.withLock { $0.closed ? nil : $0.takeFree() }
    }

    /// Takes a free slot for a request, waiting for one if all are in use; nil once the pool is
    /// closed, or when ``wakeWaiters()`` wakes the wait. A waiting request gets the next slot
    /// given back before any serving loop does.
    ///
    /// A caller running on a slot's executor gets that slot when it is free, so its request
    /// runs there without changing threads.
    public func acquire() async -> (any Slot)? {
        await acquire(servesQueue: false)
    }

    /// Takes a free slot for a queue's serving loop, as ``acquire()`` does, after any waiting
    /// request.
    public func acquireForQueue() async -> (any Slot)? {
        await acquire(servesQueue: true)
    }

    private func acquire(servesQueue: Bool) async -> (any Slot)? {
        await withCheckedContinuation { continuation in
            let ready: (any Slot)?? = state.withLock { state in
                if state.closed { return .some(nil) }
                if let slot = state.takeFree() { return .some(slot) }
                state.waiters.append(Waiter(continuation: continuation, servesQueue: servesQueue))
                if !servesQueue { requestsWaitingCount.add(1, ordering: .relaxed) }
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Gives a slot back: to the first waiting request, else to the first waiter, else to the
    /// free slots.
    public func release(_ slot: any Slot) {
        let waiter = state.withLock { state -> Waiter? in
            guard let next = state.waiters.firstIndex(where: { !$0.servesQueue }) ?? state.waiters.indices.first
            else {
                state.free.append(slot)
                return nil
            }
            return removeWaiter(at: next, from: &state)
        }
        waiter?.continuation.resume(returning: slot)
    }

    private func removeWaiter(at index: Int, from state: inout State) -> Waiter {
        let waiter = state.waiters.remove(at: index)
        if !waiter.servesQueue { requestsWaitingCount.subtract(1, ordering: .relaxed) }
        return waiter
    }

    /// Stops lending slots: whoever waits in ``acquire()`` gets nil now, and so will later callers.
    public func close() {
        state.withLock { state in
            state.closed = true
            closed.store(true, ordering: .relaxed)
        }
        wakeWaiters()
    }

    /// Ends the current waits in ``acquire()`` with nil (for a drain: waiters look again at
    /// whether they should still want a slot).
    public func wakeWaiters() {
        let waiters = state.withLock { state in
            defer {
                state.waiters = []
                requestsWaitingCount.store(0, ordering: .relaxed)
            }
            return state.waiters
        }
        waiters.forEach { $0.continuation.resume(returning: nil) }
    }
}

import Foundation
import Logging
import ServiceLifecycle

/// The serving loop for a ``TaskQueue``: claims tasks while a slot is free, runs each through
/// the ``TaskRunner``, answers it, and drains on graceful shutdown.
///
/// It never claims more tasks than it has free slots, so a task waits in the queue (where
/// another worker can take it) rather than in this process.
public final class QueueWorker: Service {
    /// How the loop behaves.
    public struct Configuration: Sendable {
        /// How long graceful shutdown waits for in-flight tasks before giving them back.
        public var drainTimeout: Duration = .seconds(30)
        /// Whether to stop (successfully) once the queue is empty and nothing is in flight.
        public var exitWhenEmpty = false

        /// The defaults: 30 s drain.
        public init() {}
    }

    private let queue: any TaskQueue
    private let runner: TaskRunner
    private let inputs: InputPolicy
    private let configuration: Configuration
    private let logger: Logger
    private let state = LoopState()

    /// A loop serving `queue` through `runner`, whose tasks' inputs are read as `inputs` allows
    /// (the queue's producers decide how far they are trusted).
    public init(
        queue: any TaskQueue, runner: TaskRunner, inputs: InputPolicy, configuration: Configuration, logger: Logger
    ) {
        self.queue = queue
        self.runner = runner
        self.inputs = inputs
        self.configuration = configuration
        self.logger = logger
    }

    private var slots: SlotPool { runner.slots }
    private var metrics: WorkerMetrics { runner.metrics }

    /// Serves until graceful shutdown (then drains), until the queue is empty with
    /// `exitWhenEmpty`, or until the slots close (a stuck worker's exit).
    public func run() async throws {
        runner.readiness.partStarted()
        try await withGracefulShutdownHandler {
            do {
                try await claimLoop()
            } catch {
                await giveBackInFlight()
                throw error
            }
            if await !state.waitUntilIdle(timeout: configuration.drainTimeout) {
                logger.warning(
                    "drain deadline passed: giving unfinished tasks back to the queue",
                    metadata: ["in_flight": "\(state.inFlight)"])
                await giveBackInFlight()
            }
        } onGracefulShutdown: { [state, slots, logger] in
            logger.info("graceful shutdown: finishing in-flight tasks, claiming no more")
            state.beginDrain()
            slots.wakeWaiters()
        }
        logger.info("worker stopped", metadata: ["metrics": "\(metrics.snapshot())"])
    }

    /// Whether the loop must stop claiming: its own drain, or the worker draining for another
    /// front end's shutdown.
    private var stopping: Bool { state.draining || runner.readiness.current == .draining }

    private func claimLoop() async throws {
        while !stopping {
            if let pause = state.claimPause() {
                try? await Task.sleep(for: pause)
                continue
            }
            if runner.readiness.current == .stuck {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            guard let first = await slots.acquireForQueue() else {
                if slots.isClosed { return }
                continue
            }
            guard !stopping else {
                slots.release(first)
                return
            }
            // Every slot free now claims in the same call: one round trip for several tasks.
            var free = [first]
            while let more = slots.tryAcquire() { free.append(more) }
            let tasks: [QueuedTask]
            do {
                tasks = try await queue.next(upTo: free.count)
                queueAvailable()
            } catch let error as QueueUnavailableError {
                free.forEach(slots.release)
                queueUnavailable(error)
                try await queue.waitForTasks()
                continue
            }
            free.dropFirst(tasks.count).forEach(slots.release)
            guard !tasks.isEmpty else {
                if configuration.exitWhenEmpty, state.inFlight == 0, await queue.isEmpty() { return }
                try await queue.waitForTasks()
                continue
            }
            for (task, slot) in zip(tasks, free) { start(task, on: slot) }
        }
    }

    /// A claim failed because the queue cannot be used: the worker is not ready until a claim
    /// works again. Logged when it starts and whenever the reason changes.
    private func queueUnavailable(_ error: QueueUnavailableError) {
        guard state.queueUnavailable(error.description) else { return }
        logger.error(
            "the queue cannot be used: the worker is not ready and claims nothing until it can",
            metadata: ["reason": "\(error.description)"])
        runner.readiness.hold(.queueUnavailable)
    }

    /// A claim worked: the worker is ready again if the queue could not be used before.
    private func queueAvailable() {
        guard state.queueAvailable() else { return }
        logger.notice("the queue can be used again: the worker is ready")
        runner.readiness.lift(.queueUnavailable)
    }

    /// Runs a claimed task on its slot's executor: predict runs there without a hand-off, and the
    /// answer's durable writes block the slot's thread rather than Swift's cooperative pool. Not a
    /// child task, so that a predict stuck on the slot never keeps the loop from returning.
    private func start(_ task: QueuedTask, on slot: any Slot) {
        let run = SlotRun()
        let first = InFlightTask(task, run: run)
        state.taskStarted(first)
        run.attach(Task(executorPreference: slot.executor) { await self.serve(first, on: slot) })
    }

    /// Runs `first` on the slot, then, while more tasks wait and no request waits for a slot,
    /// claims and runs the next ones on the same slot: no hand-off between the loop and the
    /// slot's thread per task, and the claim goes with the answer (one round trip for a remote
    /// queue). A request waiting for a slot (HTTP) gets this one once its task is answered. The
    /// slot is held until the queue has taken each answer; the spool then stages it where recovery
    /// finds it, so a next task that crashes the process never charges a finished one an attempt,
    /// and the slot does not wait for the disk.
    private func serve(_ first: InFlightTask, on slot: any Slot) async {
        var running = first
        while true {
            let next = await process(running, on: slot) { await self.mayClaimNext(on: slot) }
            // The next task is in flight before this one leaves, so the loop never sees the
            // worker idle in between (and `--exit-when-empty` never stops under it).
            if let next {
                let following = InFlightTask(next, run: first.run)
                state.task(running, continuedBy: following)
                running = following
            } else {
                state.taskLeft(running)
                break
            }
        }
        slots.release(slot)
    }

    /// Whether a slot that has just run a task may claim its next one itself: while no request
    /// waits for a slot, the worker serves normally and its storage is healthy.
    ///
    /// Work queued for the slot's executor runs first: a request's task waiting there (as
    /// requests do with one slot) then asks for a slot and counts as waiting. The other slots'
    /// tasks, which share the executor, wait there too, and do not keep this slot from claiming:
    /// were it given back instead, the loop would claim its next task from the cooperative pool.
    private func mayClaimNext(on slot: any Slot) async -> Bool {
        if slot.hasQueuedWork { await Task.yield() }
        return !slots.requestsWaiting && !stopping && !Task.isCancelled && !slots.isClosed
            && runner.readiness.current != .stuck && state.storageHealthy
    }

    /// At the drain deadline or on an error: gives back every task still running, except a
    /// stuck one (its claim is left for recovery, which counts the attempt), without waiting for
    /// their predicts.
    private func giveBackInFlight() async {
        for running in state.running {
            running.cancel()
            if runner.isStuck(running.task.id) {
                logger.forTask(running.task.id).error(
                    "leaving the stuck task's claim for recovery, which counts the attempt")
            } else if running.settle() {
                await giveBack(running.task, because: "the worker stopped before it finished", storageFailed: false)
            }
        }
    }

    /// Runs one task on `slot` (which the caller holds) and answers it, unless the loop gave it
    /// back meanwhile; never throws: every outcome is a response, a release back to the queue, or
    /// (for a stuck task at exit) a claim left for recovery. Claims the slot's next task with the
    /// answer when `claimNext` says so, and returns it.
    private func process(
        _ running: InFlightTask, on slot: any Slot, claimNext: () async -> Bool
    ) async -> QueuedTask? {
        let task = running.task
        let startedAt = Date()
        let waited = task.queuedAt.map { Duration.seconds(startedAt.timeIntervalSince($0)) }
        let request: PredictRequest
        do {
            request = try PredictRequest(json: task.body)
        } catch {
            guard running.settle() else { return nil }
            runner.countRejected(waited: waited)
            logger.forTask(task.id).warning("rejected a corrupt task", metadata: ["reason": "\(error.reason)"])
            let response = TaskResponse.failure(traceback: "bad request: \(error.reason)")
            return await answer(task, response, startedAt: startedAt, disposition: .rejected, claimNext)
        }
        do {
            let outcome = try await runner.run(
                request, taskID: task.id, on: slot, inputs: inputs, waited: waited, logger: logger)
            guard running.settle() else { return nil }
            return await answer(task, outcome.response, startedAt: startedAt, disposition: .answered, claimNext)
        } catch let error as DurableWriteError {
            guard running.settle() else { return nil }
            await giveBack(task, because: "its pickled result could not be stored: \(error)", storageFailed: true)
        } catch {
            // Cancelled by the loop's giveBackInFlight(), which settles it (or leaves a stuck one).
            guard !runner.isStuck(task.id), running.settle() else { return nil }
            await giveBack(task, because: "the worker stopped before it finished", storageFailed: false)
        }
        return nil
    }

    /// Stores the task's response (and claims the slot's next task when `claimNext` says so),
    /// or gives the task back when the response cannot be stored.
    private func answer(
        _ task: QueuedTask, _ response: TaskResponse, startedAt: Date, disposition: TaskDisposition,
        _ claimNext: () async -> Bool
    ) async -> QueuedTask? {
        let timings = TaskTimings(queuedAt: task.queuedAt, startedAt: startedAt, finishedAt: Date())
        do {
            let next = try await queue.finish(
                task, response: response, timings: timings, disposition: disposition,
                thenClaimUpTo: await claimNext() ? 1 : 0)
            state.storageSucceeded()
            return next.first
        } catch {
            await giveBack(task, because: "its response could not be stored: \(error)", storageFailed: true)
            return nil
        }
    }

    /// Returns a task to the queue after a storage failure or a stop, and pauses claiming after
    /// a storage failure so a full or read-only disk does not spin through the queue.
    private func giveBack(_ task: QueuedTask, because reason: String, storageFailed: Bool) async {
        let log = logger.forTask(task.id)
        if storageFailed {
            let pause = state.storageFailed()
            log.error(
                "returning the task to the queue",
                metadata: ["reason": "\(reason)", "pause_ms": "\(pause.milliseconds)"])
        } else {
            log.notice("returning the task to the queue", metadata: ["reason": "\(reason)"])
        }
        do {
            try await queue.release(task)
        } catch {
            log.error("could not return the task to the queue; recovery will", metadata: ["error": "\(error)"])
        }
    }
}

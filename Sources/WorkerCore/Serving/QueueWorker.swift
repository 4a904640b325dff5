import Foundation
import Logging
import PythonBridge
import ServiceLifecycle

/// The serving loop: claims tasks from a ``TaskQueue`` while a slot is free, runs each on its
/// slot's Python thread with a timeout, answers it, and drains on graceful shutdown.
///
/// It never claims more tasks than it has free slots, so a task waits in the queue (where
/// another worker can take it) rather than in this process.
public final class QueueWorker: Service {
    /// How the loop behaves.
    public struct Configuration: Sendable {
        /// A task running longer is interrupted and answered FAILURE; nil means no limit.
        public var taskTimeout: Duration?
        /// How long after its timeout an uninterruptible task makes the worker not ready.
        public var stuckGrace: Duration = .seconds(10)
        /// Whether a stuck task ends the worker (``QueueWorkerError/stuck``) so an orchestrator
        /// restarts it; the stuck task's claim is left for recovery, which counts the attempt.
        public var exitOnStuck = false
        /// How long graceful shutdown waits for in-flight tasks before giving them back.
        public var drainTimeout: Duration = .seconds(30)
        /// Whether to stop (successfully) once the queue is empty and nothing is in flight.
        public var exitWhenEmpty = false

        /// The defaults: no timeout, 10 s stuck grace, 30 s drain.
        public init() {}
    }

    private let queue: any TaskQueue
    private let executor: TaskExecutor
    private let interpreter: PythonInterpreter
    private let slots: SlotPool
    private let readiness: Readiness
    private let metrics: WorkerMetrics
    private let configuration: Configuration
    private let logger: Logger
    private let state = LoopState()

    /// A loop serving `queue` with `executor` on the threads of `slots`.
    public init(
        queue: any TaskQueue, executor: TaskExecutor, interpreter: PythonInterpreter, slots: SlotPool,
        readiness: Readiness, metrics: WorkerMetrics, configuration: Configuration, logger: Logger
    ) {
        self.queue = queue
        self.executor = executor
        self.interpreter = interpreter
        self.slots = slots
        self.readiness = readiness
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until graceful shutdown (then drains), until the queue is empty with
    /// `exitWhenEmpty`, or until a task is stuck with `exitOnStuck` (then throws).
    public func run() async throws {
        readiness.set(.ready)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await claimLoop(&group)
                if let fatal = state.fatal { throw fatal }
                if await !state.waitUntilIdle(timeout: configuration.drainTimeout) {
                    logger.warning(
                        "drain deadline passed: giving unfinished tasks back to the queue",
                        metadata: ["in_flight": "\(state.inFlight)"])
                    group.cancelAll()
                }
            }
        } onGracefulShutdown: { [state, slots, readiness, logger] in
            logger.info("graceful shutdown: finishing in-flight tasks, claiming no more")
            readiness.set(.draining)
            state.beginDrain()
            slots.close()
        }
        logger.info("worker stopped", metadata: ["metrics": "\(metrics.snapshot())"])
    }

    private func claimLoop(_ group: inout ThrowingDiscardingTaskGroup<any Error>) async throws {
        while !state.draining, state.fatal == nil {
            if let pause = state.claimPause() {
                try? await Task.sleep(for: pause)
                continue
            }
            guard let thread = await slots.acquire() else { return }
            guard !state.draining, state.fatal == nil, readiness.current != .stuck else {
                slots.release(thread)
                if readiness.current == .stuck { try? await Task.sleep(for: .milliseconds(100)) }
                continue
            }
            guard let task = try await queue.next() else {
                slots.release(thread)
                if configuration.exitWhenEmpty, state.inFlight == 0 { return }
                try await queue.waitForTasks()
                continue
            }
            state.taskStarted()
            group.addTask { await self.process(task, on: thread) }
        }
    }

    /// Runs one task on its slot and answers it; never throws: every outcome is a response, a
    /// release back to the queue, or (for a stuck task at exit) a claim left for recovery.
    private func process(_ task: QueuedTask, on thread: PythonThread) async {
        let startedAt = Date()
        metrics.taskStarted(wait: task.queuedAt.map { .seconds(startedAt.timeIntervalSince($0)) })
        defer {
            slots.release(thread)
            metrics.taskLeft()
            state.taskLeft()
        }
        var log = logger
        log[metadataKey: "task_id"] = "\(task.id)"
        let request: PredictRequest
        do {
            request = try PredictRequest(json: task.body)
        } catch {
            log.warning("rejected a corrupt task", metadata: ["reason": "\(error.reason)"])
            let response = TaskResponse.failure(traceback: "bad request: \(error.reason)")
            await answer(task, response, startedAt: startedAt, disposition: .rejected, status: "REJECTED", log)
            return
        }
        do {
            let (response, timedOut) = try await runWithTimeout(request, task, on: thread, log)
            let status = timedOut ? "TIMEOUT" : response.status.rawValue
            await answer(task, response, startedAt: startedAt, disposition: .answered, status: status, log)
        } catch let error as DurableWriteError {
            await giveBack(task, because: "its pickled result could not be stored: \(error)", storageFailed: true, log)
        } catch {
            // Cancelled by the drain deadline or by a stuck worker's exit.
            if state.isStuck(task.id) {
                log.error("leaving the stuck task's claim for recovery, which counts the attempt")
            } else {
                await giveBack(task, because: "the worker stopped before it finished", storageFailed: false, log)
            }
        }
    }

    private func answer(
        _ task: QueuedTask, _ response: TaskResponse, startedAt: Date, disposition: TaskDisposition,
        status: String, _ log: Logger
    ) async {
        let timings = TaskTimings(queuedAt: task.queuedAt, startedAt: startedAt, finishedAt: Date())
        do {
            try await queue.finish(task, response: response, timings: timings, disposition: disposition)
            state.storageSucceeded()
            metrics.taskFinished(status: status, duration: .milliseconds(timings.runMilliseconds))
        } catch {
            await giveBack(task, because: "its response could not be stored: \(error)", storageFailed: true, log)
        }
    }

    /// Returns a task to the queue after a storage failure or a stop, and pauses claiming after
    /// a storage failure so a full or read-only disk does not spin through the queue.
    private func giveBack(_ task: QueuedTask, because reason: String, storageFailed: Bool, _ log: Logger) async {
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

    /// Runs the request; past the timeout raises `TaskTimedOut` in it, and past the stuck grace
    /// marks the worker not ready (and ends it, with `exitOnStuck`).
    private func runWithTimeout(
        _ request: PredictRequest, _ task: QueuedTask, on thread: PythonThread, _ log: Logger
    ) async throws -> (TaskResponse, timedOut: Bool) {
        guard let timeout = configuration.taskTimeout else {
            return (try await executor.execute(request, taskID: task.id, on: thread), false)
        }
        let timedOut = TimeoutFlag()
        let response = try await withThrowingTaskGroup(of: TaskResponse?.self) { group in
            group.addTask { try await self.executor.execute(request, taskID: task.id, on: thread) }
            group.addTask {
                try await Task.sleep(for: timeout)
                timedOut.set()
                log.warning("task timed out: interrupting it", metadata: ["timeout_s": "\(timeout)"])
                self.interpreter.interrupt(thread, raising: self.executor.bundle.timeoutException)
                try await Task.sleep(for: self.configuration.stuckGrace)
                self.markStuck(task.id, log)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let response = result { return response }
            }
            throw CancellationError()
        }
        if state.unstick(task.id) { readiness.set(.ready) }
        guard timedOut.isSet, response.status == .failure else { return (response, false) }
        let reason = "timed out after \(timeout.formatted()) (--task-timeout)"
        return (.failure(traceback: "\(reason)\n\n\(response.traceback ?? "")"), true)
    }

    private func markStuck(_ taskID: String, _ log: Logger) {
        log.error(
            "task is stuck in code that cannot be interrupted: the worker is not ready and claims no more",
            metadata: ["exit_on_stuck": "\(configuration.exitOnStuck)"])
        state.markStuck(taskID)
        readiness.set(.stuck)
        if configuration.exitOnStuck {
            state.fail(QueueWorkerError.stuck(taskID: taskID))
            slots.close()
        }
    }
}

/// Why the serving loop ended with an error.
public enum QueueWorkerError: Error, Sendable, CustomStringConvertible {
    /// A task ran past its timeout and stuck grace with `exitOnStuck`.
    case stuck(taskID: String)

    public var description: String {
        switch self {
        case .stuck(let taskID):
            "task \(taskID) is stuck in code that cannot be interrupted; exiting so the worker is restarted"
        }
    }
}

extension Duration {
    /// `2 s`, `0.5 s`.
    fileprivate func formatted() -> String {
        let seconds = Double(components.seconds) + Double(components.attoseconds) * 1e-18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs requests on the worker's slots under its timeout and stuck rules, and keeps each task's
/// books (in flight, queue wait, finished by status, run time); every front end (a queue's
/// serving loop, the HTTP endpoint) runs its tasks through the one runner with one call, so
/// they share the `per_worker` slots and count tasks alike.
///
/// As a `Service` it waits for a fatal condition (a stuck task with `exitOnStuck`) and then
/// throws it, which ends the worker so an orchestrator restarts it.
public final class TaskRunner: Service {
    /// The timeout and stuck rules.
    public struct Configuration: Sendable {
        /// A task running longer is interrupted and answered FAILURE; nil means no limit.
        public var taskTimeout: Duration?
        /// How long after its timeout an uninterruptible task counts as stuck: its slot is lost,
        /// and the worker is not ready once every slot is.
        public var stuckGrace: Duration = .seconds(10)
        /// Whether a stuck task ends the worker (``WorkerError/stuck(taskID:)``).
        public var exitOnStuck = false

        /// The defaults: no timeout, 10 s stuck grace.
        public init() {}
    }

    /// The slots.
    public let slots: SlotPool
    /// The worker's readiness, turned `stuck` by a task that cannot be interrupted.
    public let readiness: Readiness
    /// The worker's metrics.
    public let metrics: WorkerMetrics
    /// What turns a request into a response on a slot.
    public let executor: RequestExecutor
    /// The timeout and stuck rules.
    public let configuration: Configuration
    private let stuck = Mutex<(tasks: Set<String>, fatal: WorkerError?)>(([], nil))
    private let fatalSignal = AsyncStream<WorkerError>.makeStream()
    /// Times the tasks when there is a timeout.
    private let deadlines: DeadlineWatch?

    /// A runner for `executor` on `slots`.
    public init(
        executor: RequestExecutor, slots: SlotPool, readiness: Readiness, metrics: WorkerMetrics,
        configuration: Configuration
    ) {
        self.executor = executor
        self.slots = slots
        self.readiness = readiness
        self.metrics = metrics
        self.configuration = configuration
        self.deadlines = configuration.taskTimeout == nil ? nil : DeadlineWatch()
    }

    /// Waits until a stuck task must end the worker, and throws that; returns on graceful
    /// shutdown.
    public func run() async throws {
        let fatal = await cancelWhenGracefulShutdown { [fatalSignal] in
            await fatalSignal.stream.first { _ in true }
        }
        if let fatal { throw fatal }
    }

    /// Whether `taskID` is stuck (its claim must then be left for recovery, not released).
    public func isStuck(_ taskID: String) -> Bool {
        stuck.withLock { $0.tasks.contains(taskID) }
    }

    /// Runs the request on `slot` (which the caller holds), reading its input as the front end's
    /// `inputs` policy allows, and counts it in the metrics: in
    /// flight while it runs, `waited` as its queue wait, and, once it has a response, finished by
    /// status with its run time. Past the timeout it interrupts the predict; past the stuck grace
    /// it marks the task stuck (the worker is not ready once every slot is). What it logs carries `taskID` (``Logging/Logger/forTask(_:)``).
    ///
    /// A caller that waits for the answer (an HTTP client) passes `answerEarly`: at the timeout,
    /// shortly after the interrupt, it gets the timeout's outcome from the watch's thread if the
    /// predict has not ended by then (a C call that never returns to Python), while the predict
    /// keeps its slot until it returns.
    ///
    /// - Returns: the response, and whether the task timed out (its response then says so).
    /// - Throws: ``DurableWriteError`` when a pickled result cannot be stored;
    ///   `CancellationError` when the caller is cancelled.
    public func run(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy, waited: Duration?,
        logger: Logger, answerEarly: (@Sendable (TaskOutcome) -> Void)? = nil
    ) async throws -> TaskOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        metrics.taskStarted(wait: waited)
        defer { metrics.taskLeft() }
        let outcome = try await runTimed(
            request, taskID: taskID, on: slot, inputs: inputs, logger: logger, answerEarly: answerEarly)
        metrics.taskFinished(status: outcome.status, duration: clock.now - start)
        return outcome
    }

    /// Counts a task that a queue handed out but that was rejected before it ran (a corrupt
    /// body), after waiting `waited` in its queue.
    public func countRejected(waited: Duration?) {
        metrics.taskStarted(wait: waited)
        metrics.taskFinished(status: "REJECTED", duration: .zero)
        metrics.taskLeft()
    }

    private func runTimed(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy, logger: Logger,
        answerEarly: (@Sendable (TaskOutcome) -> Void)?
    ) async throws -> TaskOutcome {
        guard let timeout = configuration.taskTimeout, let deadlines else {
            let execution = try await executor.execute(request, taskID: taskID, on: slot, inputs: inputs)
            return TaskOutcome(execution, timedOut: false)
        }
        let timedOut = TimeoutFlag()
        // A download of the input ends by the timeout too: interrupting the slot cannot stop it.
        let deadline = ContinuousClock.now + timeout
        let ticket = deadlines.watch(
            timeoutStages(
                taskID, on: slot, timeout: timeout, timedOut: timedOut, logger: logger, answerEarly: answerEarly))
        defer { deadlines.cancel(ticket) }
        let execution = try await executor.execute(
            request, taskID: taskID, on: slot, inputs: inputs, deadline: deadline)
        deadlines.cancel(ticket)  // before `unstick`, so no stuck mark comes after it
        unstick(taskID)
        // A download ended by the deadline may answer before the timer has fired.
        let pastDeadline = timedOut.isSet || (execution.inputError != nil && ContinuousClock.now >= deadline)
        guard pastDeadline, execution.response.status == .failure else {
            return TaskOutcome(execution, timedOut: false)
        }
        let reason = "timed out after \(timeout.formattedSeconds) (--task-timeout)"
        return TaskOutcome(
            response: .failure(traceback: "\(reason)\n\n\(execution.response.traceback ?? "")"), timedOut: true)
    }

    /// What the watch does for a task with a timeout: at the timeout, interrupt its predict; a
    /// little later, give a waiting caller the timeout's answer; at the stuck grace, mark it stuck.
    private func timeoutStages(
        _ taskID: String, on slot: any Slot, timeout: Duration, timedOut: TimeoutFlag, logger: Logger,
        answerEarly: (@Sendable (TaskOutcome) -> Void)?
    ) -> [(after: Duration, action: @Sendable () -> Void)] {
        var stages: [(after: Duration, action: @Sendable () -> Void)] = [
            (
                timeout,
                {
                    timedOut.set()
                    logger.forTask(taskID).warning(
                        "task timed out: interrupting it", metadata: ["timeout": "\(timeout)"])
                    slot.interrupt()
                }
            )
        ]
        if let answerEarly {
            // Long enough for an interruptible predict to end with its own traceback; short
            // enough to answer before a stuck task ends the worker (`exitOnStuck`).
            let answerDelay = min(.seconds(1), configuration.stuckGrace / 2)
            let reason =
                "timed out after \(timeout.formattedSeconds) (--task-timeout); the predict could not be "
                + "interrupted (it is in code that does not return to Python) and keeps its slot until it returns"
            stages.append(
                (
                    timeout + answerDelay,
                    { answerEarly(TaskOutcome(response: .failure(traceback: reason), timedOut: true)) }
                )
            )
        }
        stages.append((timeout + configuration.stuckGrace, { self.markStuck(taskID, logger) }))
        return stages
    }

    /// Marks the task stuck: its slot is lost until its predict returns. The worker stays ready
    /// while a slot is left (readiness shows capacity, not any stuck task), unless
    /// `exitOnStuck` makes it end.
    private func markStuck(_ taskID: String, _ logger: Logger) {
        let fatal: WorkerError? = configuration.exitOnStuck ? .stuck(taskID: taskID) : nil
        let count = stuck.withLock { state in
            state.tasks.insert(taskID)
            state.fatal = state.fatal ?? fatal
            return state.tasks.count
        }
        logger.forTask(taskID).error(
            "task is stuck in code that cannot be interrupted: its slot is lost until it returns",
            metadata: [
                "stuck_slots": "\(count) of \(slots.count)", "exit_on_stuck": "\(configuration.exitOnStuck)",
            ])
        if fatal != nil || count >= slots.count { readiness.hold(.stuck) }
        if let fatal {
            slots.close()
            fatalSignal.continuation.yield(fatal)
        }
    }

    private func unstick(_ taskID: String) {
        let ready = stuck.withLock { state -> Bool in
            guard state.tasks.remove(taskID) != nil else { return false }
            return state.tasks.count < slots.count && state.fatal == nil
        }
        if ready { readiness.lift(.stuck) }
    }
}

/// What a task run by the ``TaskRunner`` came to.
public struct TaskOutcome: Sendable {
    /// The response, in Launch's shape.
    public var response: TaskResponse
    /// Whether the task ran past its timeout (its response then says so).
    public var timedOut: Bool
    /// Why its input could not be read or was refused, when that is why it failed (and it did
    /// not time out): the HTTP endpoint answers that as a bad request.
    public var inputError: InputError?

    /// An outcome from its parts.
    public init(response: TaskResponse, timedOut: Bool, inputError: InputError? = nil) {
        self.response = response
        self.timedOut = timedOut
        self.inputError = inputError
    }

    init(_ execution: Execution, timedOut: Bool) {
        self.init(response: execution.response, timedOut: timedOut, inputError: execution.inputError)
    }

    /// The status counted in the metrics: `TIMEOUT`, else the response's.
    public var status: String { timedOut ? "TIMEOUT" : response.status.rawValue }
}

/// Set once when a task's timeout fires.
private final class TimeoutFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}

/// Why the worker ended with an error.
public enum WorkerError: Error, Sendable, CustomStringConvertible {
    /// A task ran past its timeout and stuck grace with `exitOnStuck`.
    case stuck(taskID: String)

    public var description: String {
        switch self {
        case .stuck(let taskID):
            "task \(taskID) is stuck in code that cannot be interrupted; exiting so the worker is restarted"
        }
    }
}

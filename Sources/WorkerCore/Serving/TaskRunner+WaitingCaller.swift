import Logging
import Synchronization

extension TaskRunner {
    /// Runs the request on `slot` as ``run(_:taskID:on:inputs:waited:logger:)`` does, for a caller that
    /// waits for the answer (an HTTP client), and gives the slot back to the pool when the
    /// predict ends.
    ///
    /// With a task timeout, the caller is answered at the timeout even when the predict cannot
    /// be interrupted (a C call that never returns to Python): shortly after the interrupt it gets
    /// the timeout's answer while the predict still holds its slot, which returns to the pool only
    /// when the predict ends. Without a timeout the predict runs in the caller's task, on the
    /// slot's executor when the caller prefers it, with no hand-off.
    ///
    /// - Important: With a timeout, call it from a task that does not prefer the slot's executor:
    ///   such a caller would resume only once a stuck predict lets the slot's thread go
    ///   (the HTTP endpoint's `PredictWork` prefers no executor then).
    /// - Throws: ``DurableWriteError`` when a pickled result cannot be stored;
    ///   `CancellationError` when the caller is cancelled (it is answered at once, even while
    ///   the predict runs on).
    public func runReleasingSlot(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy, waited: Duration?,
        logger: Logger
    ) async throws -> TaskOutcome {
        guard let timeout = configuration.taskTimeout else {
            defer { slots.release(slot) }
            return try await run(request, taskID: taskID, on: slot, inputs: inputs, waited: waited, logger: logger)
        }
        return try await firstAnswer(
            request, taskID: taskID, on: slot, inputs: inputs, waited: waited, timeout: timeout, logger: logger)
    }

    /// The predict's answer, or the timeout's shortly after the interrupt, whichever comes first.
    private func firstAnswer(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy, waited: Duration?,
        timeout: Duration, logger: Logger
    ) async throws -> TaskOutcome {
        let answer = FirstAnswer()
        // Long enough for an interruptible predict to end with its own traceback; short enough
        // to answer before a stuck task ends the worker (`exitOnStuck`).
        let answerDelay = min(.seconds(1), configuration.stuckGrace / 2)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                answer.attach(
                    continuation,
                    predict: Task(executorPreference: slot.executor) {
                        let result: Result<TaskOutcome, any Error>
                        do {
                            result = .success(
                                try await self.run(
                                    request, taskID: taskID, on: slot, inputs: inputs, waited: waited, logger: logger))
                        } catch {
                            result = .failure(error)
                        }
                        self.slots.release(slot)
                        answer.give(result)
                    },
                    timer: Task(executorPreference: globalConcurrentExecutor) {
                        guard (try? await Task.sleep(for: timeout + answerDelay)) != nil else { return }
                        let reason =
                            "timed out after \(timeout.formattedSeconds) (--task-timeout); the predict could not be "
                            + "interrupted (it is in code that does not return to Python) and keeps its slot until it returns"
                        answer.give(.success(TaskOutcome(response: .failure(traceback: reason), timedOut: true)))
                    })
            }
        } onCancel: {
            answer.cancel()
        }
    }
}

/// The first of a predict's answer, its timeout's answer and its caller's cancellation, given
/// once to the waiting caller; the other two are dropped.
private final class FirstAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<TaskOutcome, any Error>?
        var pending: Result<TaskOutcome, any Error>?
        var predict: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var answered = false
    }

    private let state = Mutex(State())

    /// Starts waiting with `continuation`; an answer given before this is given now.
    func attach(
        _ continuation: CheckedContinuation<TaskOutcome, any Error>, predict: Task<Void, Never>,
        timer: Task<Void, Never>
    ) {
        let pending = state.withLock { state -> Result<TaskOutcome, any Error>? in
            state.predict = predict
            state.timer = timer
            guard let pending = state.pending else {
                state.continuation = continuation
                return nil
            }
            return pending
        }
        if let pending {
            predict.cancel()  // finished already, or its caller was cancelled before it started
            timer.cancel()
            continuation.resume(with: pending)
        }
    }

    /// Gives `result` to the caller unless it was answered already; stops the timer.
    func give(_ result: Result<TaskOutcome, any Error>) {
        let (continuation, timer) = state.withLock {
            state -> (CheckedContinuation<TaskOutcome, any Error>?, Task<Void, Never>?) in
            guard !state.answered else { return (nil, nil) }
            state.answered = true
            guard let continuation = state.continuation else {
                state.pending = result
                return (nil, state.timer)
            }
            state.continuation = nil
            return (continuation, state.timer)
        }
        timer?.cancel()
        continuation?.resume(with: result)
    }

    /// The caller was cancelled: a predict not yet started is skipped, and the caller is answered
    /// with `CancellationError` at once.
    func cancel() {
        state.withLock { $0.predict }?.cancel()
        give(.failure(CancellationError()))
    }
}

import Logging

extension TaskRunner {
    /// Runs the request on `slot` as ``run(_:taskID:on:inputs:waited:logger:answerEarly:)`` does,
    /// for a caller that waits for the answer (an HTTP client), and gives the slot back to the
    /// pool when the predict ends.
    ///
    /// With a task timeout, `answerEarly` gets the timeout's answer shortly after the interrupt
    /// when the predict cannot be interrupted (a C call that never returns to Python); the
    /// predict keeps its slot, and this call goes on, until it returns. The caller answers
    /// whichever comes first.
    ///
    /// - Throws: ``DurableWriteError`` when a pickled result cannot be stored;
    ///   `CancellationError` when the caller is cancelled.
    public func runReleasingSlot(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy, waited: Duration?,
        logger: Logger, answerEarly: @escaping @Sendable (TaskOutcome) -> Void
    ) async throws -> TaskOutcome {
        defer { slots.release(slot) }
        return try await run(
            request, taskID: taskID, on: slot, inputs: inputs, waited: waited, logger: logger, answerEarly: answerEarly)
    }
}

import Foundation
import Logging

/// Runs one decoded request on a slot and answers it in Launch's shape.
///
/// This is the one place a request becomes a response: read the input (as the front end's
/// ``InputPolicy`` allows), call predict on the slot, store a pickled output, report a failure
/// with its traceback.
public struct RequestExecutor: Sendable {
    /// Where pickled outputs go.
    public var results: any ResultStore
    /// Where task events are logged.
    public var logger: Logger

    /// An executor storing pickles in `results`.
    public init(results: any ResultStore, logger: Logger) {
        self.results = results
        self.logger = logger
    }

    /// Runs `request` on `slot`, reading its input as `inputs` allows.
    ///
    /// A predict error, an unreadable or refused input, or an output JSON cannot encode is a
    /// `FAILURE` response. A download runs on NIO's event loops while this task awaits it,
    /// holding neither the slot's thread nor the GIL.
    ///
    /// - Parameter deadline: when a download of the input must have ended (the task's timeout).
    /// - Throws: ``DurableWriteError`` when a pickled output cannot be stored: the task has no
    ///   answer then and must stay queued; `CancellationError` when cancelled before it started.
    public func execute(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy,
        deadline: ContinuousClock.Instant? = nil
    ) async throws -> Execution {
        let clock = ContinuousClock()
        let start = clock.now
        let execution = try await answer(request, taskID: taskID, on: slot, inputs: inputs, deadline: deadline)
        // The line's metadata is built only when it is written: at `--log-level warning` and
        // above, its strings and dictionary were a cost of every task for nothing.
        guard logger.logLevel <= .info else { return execution }
        var metadata: Logger.Metadata = [
            "task_id": "\(taskID)", "status": "\(execution.response.status.rawValue)",
            "duration_ms": "\((clock.now - start).milliseconds)",
        ]
        if let inputError = execution.inputError { metadata["input_error"] = "\(inputError)" }
        logger.info("task finished", metadata: metadata)
        return execution
    }

    private func answer(
        _ request: PredictRequest, taskID: String, on slot: any Slot, inputs: InputPolicy,
        deadline: ContinuousClock.Instant?
    ) async throws -> Execution {
        let input: PredictInput
        do {
            switch request.input {
            case .args(let json):
                input = .args(json: json)
            case .url(let location):
                input = .data(try await RequestInput.read(location, policy: inputs, deadline: deadline))
            case .cloudpickle(let location):
                input = .pickledCall(try await RequestInput.read(location, policy: inputs, deadline: deadline))
            }
        } catch {
            return Execution(response: .failure(traceback: error.description), inputError: error)
        }
        let output: PredictOutput
        do {
            output = try await slot.predict(input, pickled: request.resultIsPickled)
        } catch let failure as PredictFailure {
            return Execution(response: .failure(traceback: failure.traceback))
        }
        switch output {
        case .json(let text):
            return Execution(response: .success(result: text))
        case .pickled(let pickle):
            return Execution(response: .success(resultURL: try results.store(pickle, taskID: taskID)))
        }
    }
}

/// What running a request came to: its response, and, when its input could not be read (or was
/// refused), why: predict did not run then, and the response's `FAILURE` says the same.
public struct Execution: Sendable {
    /// The response, in Launch's shape.
    public var response: TaskResponse
    /// Why the input could not be read, if that is why the request failed.
    public var inputError: InputError?

    /// An execution from its parts.
    public init(response: TaskResponse, inputError: InputError? = nil) {
        self.response = response
        self.inputError = inputError
    }
}

import Foundation
import Logging

/// Runs one decoded request on a slot and answers it in Launch's shape.
///
/// This is the one place a request becomes a response: read the input, call predict on the
/// slot, store a pickled output, report a failure with its traceback.
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

    /// Runs `request` on `slot`.
    ///
    /// A predict error, an unreadable input or an output JSON cannot encode is a `FAILURE`
    /// response.
    ///
    /// - Throws: ``DurableWriteError`` when a pickled output cannot be stored: the task has no
    ///   answer then and must stay queued; `CancellationError` when cancelled before it started.
    public func execute(_ request: PredictRequest, taskID: String, on slot: any Slot) async throws -> TaskResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await answer(request, taskID: taskID, on: slot)
        logger.info(
            "task finished",
            metadata: [
                "task_id": "\(taskID)", "status": "\(response.status.rawValue)",
                "duration_ms": "\((clock.now - start).milliseconds)",
            ])
        return response
    }

    private func answer(_ request: PredictRequest, taskID: String, on slot: any Slot) async throws -> TaskResponse {
        let input: PredictInput
        do {
            switch request.input {
            case .args(let json): input = .args(json: json)
            case .url(let location): input = .data(try RequestInput.read(location))
            case .cloudpickle(let location): input = .pickledCall(try RequestInput.read(location))
            }
        } catch {
            return .failure(traceback: error.description)
        }
        let output: PredictOutput
        do {
            output = try await slot.predict(input, pickled: request.resultIsPickled)
        } catch let failure as PredictFailure {
            return .failure(traceback: failure.traceback)
        }
        switch output {
        case .json(let text):
            return .success(result: text)
        case .pickled(let pickle):
            return .success(resultURL: try results.store(pickle, taskID: taskID))
        }
    }
}

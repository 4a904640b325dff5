import Foundation
import Logging
import PythonBridge

/// Runs one decoded request against a loaded bundle and answers it in Launch's shape.
///
/// This is the one place a request becomes a response: read the input, call predict on the
/// given Python thread, store a pickled output, report a failure with its traceback.
public struct TaskExecutor: Sendable {
    /// The loaded bundle.
    public var bundle: LoadedBundle
    /// Where pickled outputs go.
    public var results: any ResultStore
    /// Where task events are logged.
    public var logger: Logger

    /// An executor for `bundle`, storing pickles in `results`.
    public init(bundle: LoadedBundle, results: any ResultStore, logger: Logger) {
        self.bundle = bundle
        self.results = results
        self.logger = logger
    }

    /// Runs `request` on `thread`.
    ///
    /// A predict error, an unreadable input or an output JSON cannot encode is a `FAILURE`
    /// response.
    ///
    /// - Throws: ``DurableWriteError`` when a pickled output cannot be stored: the task has no
    ///   answer then and must stay queued; `CancellationError` when cancelled before it started.
    public func execute(_ request: PredictRequest, taskID: String, on thread: PythonThread) async throws -> TaskResponse
    {
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await answer(request, taskID: taskID, on: thread)
        logger.info(
            "task finished",
            metadata: [
                "task_id": "\(taskID)", "status": "\(response.status.rawValue)",
                "duration_ms": "\((clock.now - start).milliseconds)",
            ])
        return response
    }

    private func answer(_ request: PredictRequest, taskID: String, on thread: PythonThread) async throws -> TaskResponse
    {
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
            output = try await bundle.call(input, pickled: request.resultIsPickled, on: thread)
        } catch let error as PythonError {
            return .failure(traceback: error.traceback)
        }
        switch output {
        case .json(let text):
            return .success(result: text)
        case .pickled(let pickle):
            return .success(resultURL: try results.store(pickle, taskID: taskID))
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

import WorkerCore

/// One input of a chunk to answer: the line it came from (its pickle is named after it, and no
/// other input shares it) and its request.
public struct BatchRequest: Sendable {
    /// Its line in the input.
    public var line: Int
    /// What it asks.
    public var request: PredictRequest

    /// A request from its parts.
    public init(line: Int, request: PredictRequest) {
        self.line = line
        self.request = request
    }
}

/// Why answering a chunk stopped the whole batch (a rerun resumes it).
public enum BatchStop: Error, Sendable {
    /// The slots closed: the batch is being stopped.
    case interrupted
    /// A pickled result cannot be stored: the message says which and what to do.
    case output(String)
    /// A worker process of `--processes` ended or broke its pipe: the message says which.
    case worker(String)

    var end: BatchRun.End {
        switch self {
        case .interrupted: .interrupted
        case .output(let message): .outputError(message)
        case .worker(let message): .workerError(message)
        }
    }
}

/// What answers a batch's inputs, a chunk at a time: this process's slots (``SlotAnswering``),
/// or worker processes that each run a ``SlotAnswering`` of their own (`batch --processes`).
public protocol BatchAnswering: Sendable {
    /// One entry for each chunk that may be answered at once: the executor its caller prefers,
    /// nil for Swift's own.
    var lanes: [(any TaskExecutor)?] { get }

    /// The responses to `requests`, in their order.
    ///
    /// - Throws: ``BatchStop`` when the batch must stop; the chunk's inputs then have no result
    ///   and run again on the rerun.
    func answer(_ requests: [BatchRequest]) async throws(BatchStop) -> [TaskResponse]
}

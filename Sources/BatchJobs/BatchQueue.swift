import JSONBytes
import WorkerCore

/// Where a batch sends its inputs when workers elsewhere run them (`batch --queue`): a spool
/// folder or a Celery queue on Redis, served by any number of `serve` processes on any machines.
public protocol BatchQueue: Sendable {
    /// Queues `request` as task `id`; a task already queued under `id` (by an earlier run of the
    /// batch) counts as queued.
    ///
    /// - Throws: ``BatchQueueError`` when the queue cannot take it.
    func submit(_ request: PredictRequest, id: String) async throws(BatchQueueError)

    /// The responses of those of `ids` that are finished; the others are left out.
    ///
    /// - Throws: ``BatchQueueError`` when the queue cannot be read.
    func responses(_ ids: [String]) async throws(BatchQueueError) -> [String: TaskResponse]
}

/// A queue that cannot be used, saying why.
public struct BatchQueueError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// An error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension PredictRequest {
    /// The request as a Launch request body (`{"args": ...}`, `{"url": ...}` or
    /// `{"cloudpickle": ...}`, with `return_pickled`), the `args` as their original text.
    public var body: [UInt8] {
        var text: [UInt8] = []
        switch input {
        case .args(let json): text = Array("{\"args\":\(json)".utf8)
        case .url(let location): text = Array("{\"url\":\(JSONText.quote(location))".utf8)
        case .cloudpickle(let location): text = Array("{\"cloudpickle\":\(JSONText.quote(location))".utf8)
        }
        if let callbackURL { text += Array(",\"callback_url\":\(JSONText.quote(callbackURL))".utf8) }
        return text + Array(",\"return_pickled\":\(returnPickled)}".utf8)
    }
}

import Foundation
import WorkerCore

/// A task's state in Celery's Redis result backend: the JSON stored at
/// `celery-task-meta-<id>` and published on the channel of the same name.
public struct CeleryResult: Sendable, Equatable {
    /// Celery's task states that a worker writes.
    public enum Status: String, Sendable {
        case started = "STARTED"
        case success = "SUCCESS"
        case failure = "FAILURE"
        case revoked = "REVOKED"
    }

    /// The task's id.
    public var taskID: String
    /// Its state.
    public var status: Status
    /// The `result` member, as JSON text.
    public var resultJSON: [UInt8]
    /// The Python traceback of a failure.
    public var traceback: String?
    /// When it finished (`date_done`); nil for STARTED.
    public var dateDone: Date?

    /// The key the result backend stores it under.
    public static func key(taskID: String) -> String { "celery-task-meta-\(taskID)" }

    /// The result for a response of the serving loop: SUCCESS with Launch's task result
    /// (`{"result": json.dumps(output)}` or `{"result_url": URL}`), or FAILURE with the
    /// exception the traceback ends with.
    public init(taskID: String, response: TaskResponse, finishedAt: Date) {
        self.taskID = taskID
        dateDone = finishedAt
        switch response.status {
        case .success:
            status = .success
            resultJSON = Array(JSONText.object(["result": response.result, "result_url": response.resultURL]).utf8)
            traceback = nil
        default:
            let text = response.traceback ?? "the task failed"
            let fallback = CeleryException(type: "Exception", module: "builtins", message: "")
            self = .failure(
                taskID: taskID, CeleryException.from(traceback: text, fallback: fallback), traceback: text,
                at: finishedAt)
        }
    }

    /// FAILURE with `exception`, and its traceback (or the exception's text when there is none).
    public static func failure(taskID: String, _ exception: CeleryException, traceback: String? = nil, at date: Date)
        -> CeleryResult
    {
        CeleryResult(
            taskID: taskID, status: .failure, resultJSON: exceptionJSON(exception),
            traceback: traceback ?? "\(exception.module).\(exception.type): \(exception.message)", dateDone: date)
    }

    /// REVOKED because `expires` passed, as Celery's worker marks an expired task.
    public static func expired(taskID: String, at date: Date) -> CeleryResult {
        let exception = CeleryException(type: "TaskRevokedError", module: "celery.exceptions", message: "expired")
        return CeleryResult(
            taskID: taskID, status: .revoked, resultJSON: exceptionJSON(exception), traceback: nil, dateDone: date)
    }

    /// STARTED, with the worker's pid and host name as Celery's worker writes them.
    public static func started(taskID: String, pid: Int32, hostname: String) -> CeleryResult {
        CeleryResult(
            taskID: taskID, status: .started, resultJSON: JSONValue.encode(["pid": Int(pid), "hostname": hostname]),
            traceback: nil, dateDone: nil)
    }

    private init(taskID: String, status: Status, resultJSON: [UInt8], traceback: String?, dateDone: Date?) {
        self.taskID = taskID
        self.status = status
        self.resultJSON = resultJSON
        self.traceback = traceback
        self.dateDone = dateDone
    }

    private static func exceptionJSON(_ exception: CeleryException) -> [UInt8] {
        JSONValue.encode(
            [
                "exc_type": exception.type, "exc_message": [exception.message], "exc_module": exception.module,
            ] as [String: Any])
    }

    /// The stored JSON, in Celery's member order.
    public func json() -> [UInt8] {
        var text = Array("{\"status\": \"\(status.rawValue)\", \"result\": ".utf8) + resultJSON
        text += Array(", \"traceback\": ".utf8) + Array((traceback.map(JSONValue.quote) ?? "null").utf8)
        text += Array(", \"children\": [], \"date_done\": ".utf8)
        text += Array((dateDone.map { JSONValue.quote(KombuTime.format($0)) } ?? "null").utf8)
        text += Array(", \"task_id\": \(JSONValue.quote(taskID))}".utf8)
        return text
    }
}

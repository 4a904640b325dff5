import Foundation
import JSONBytes
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
            var json: [UInt8] = []
            json.reserveCapacity((response.result ?? response.resultURL ?? "").utf8.count + 32)
            JSONText.appendObject(["result": response.result, "result_url": response.resultURL], to: &json)
            resultJSON = json
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
        var json: [UInt8] = []
        json.reserveCapacity(resultJSON.count + (traceback?.utf8.count ?? 0) + taskID.utf8.count + 160)
        json.append(contentsOf: #"{"status": ""#.utf8)
        json.append(contentsOf: status.rawValue.utf8)
        json.append(contentsOf: #"", "result": "#.utf8)
        json.append(contentsOf: resultJSON)
        json.append(contentsOf: #", "traceback": "#.utf8)
        if let traceback {
            JSONText.appendQuoted(traceback, to: &json)
        } else {
            json.append(contentsOf: "null".utf8)
        }
        json.append(contentsOf: #", "children": [], "date_done": "#.utf8)
        if let dateDone {
            // The date's text has nothing to escape.
            json.append(UInt8(ascii: "\""))
            KombuTime.append(dateDone, to: &json)
            json.append(UInt8(ascii: "\""))
        } else {
            json.append(contentsOf: "null".utf8)
        }
        json.append(contentsOf: #", "task_id": "#.utf8)
        JSONText.appendQuoted(taskID, to: &json)
        json.append(UInt8(ascii: "}"))
        return json
    }
}

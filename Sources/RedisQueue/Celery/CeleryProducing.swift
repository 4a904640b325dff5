import Foundation
import JSONBytes
import WorkerCore

/// What a producer of llm-engine's predict tasks needs: the message to queue, as Celery's
/// `send_task` and kombu's Redis transport write it, and the response read back from a stored
/// result (`batch --queue redis://...`, and the gateway's async endpoints with `--broker`).
public enum CeleryProducing {
    /// The envelope to `LPUSH` onto `queue` for task `taskID`: protocol v2, its body
    /// `[[request, return_pickled], {}, embed]` in base64, as the Python client sends it, or
    /// `[[request, arrival_timestamp, return_pickled], {}, embed]` with `arrival`, as
    /// llm-engine's gateway sends it (the time as kombu tags a datetime).
    ///
    /// - Parameter request: the request body (a JSON object), which becomes the task's first argument.
    public static func envelope(
        taskID: String, request: [UInt8], returnPickled: Bool, queue: String, arrival: Date? = nil
    ) -> [UInt8] {
        var body: [UInt8] = Array("[[".utf8) + request
        if let arrival {
            body += Array(", {\"__type__\": \"datetime\", \"__value__\": \"\(KombuTime.format(arrival))\"}".utf8)
        }
        body += Array(
            ",\(returnPickled)], {}, {\"callbacks\": null, \"errbacks\": null, \"chain\": null, \"chord\": null}]".utf8)
        let id = JSONText.quote(taskID)
        let text = """
            {"body": "\(Data(body).base64EncodedString())", "content-encoding": "utf-8", \
            "content-type": "application/json", "headers": {"lang": "py", "task": "\(LaunchTaskNames.predict)", \
            "id": \(id), "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, \
            "retries": 0, "timelimit": [null, null], "root_id": \(id), "parent_id": null, "origin": "launch-worker"}, \
            "properties": {"correlation_id": \(id), "reply_to": "", "delivery_mode": 2, \
            "delivery_info": {"exchange": "", "routing_key": \(JSONText.quote(queue))}, "priority": 0, \
            "body_encoding": "base64", "delivery_tag": \(JSONText.quote(RandomID.uuid()))}}
            """
        return Array(text.utf8)
    }

    /// The response a stored result (`celery-task-meta-<id>`'s JSON) holds, nil while the task
    /// has none (STARTED, or not a result at all).
    ///
    /// SUCCESS holds Launch's task result (`{"result": ...}` or `{"result_url": ...}`); FAILURE
    /// its traceback (or the exception, when there is none); REVOKED says the task expired.
    public static func response(stored json: [UInt8]) -> TaskResponse? {
        guard let stored = RawJSON.Object(json[...]), let status = stored.string("status") else { return nil }
        switch status {
        case CeleryResult.Status.success.rawValue:
            let result = stored.object("result")
            if let url = result?.string("result_url") { return TaskResponse(status: .success, resultURL: url) }
            return TaskResponse(status: .success, result: result?.string("result") ?? "null")
        case CeleryResult.Status.failure.rawValue, CeleryResult.Status.revoked.rawValue:
            let exception = stored[raw: "result"].map { String(decoding: $0, as: UTF8.self) } ?? status
            return .failure(traceback: stored.string("traceback") ?? "\(status): \(exception)")
        default:
            return nil
        }
    }
}

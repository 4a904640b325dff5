import Foundation

/// The message llm-engine's gateway queues for an async task: Celery protocol v2 in kombu's
/// Redis envelope, task `hosted_model_inference.inference.async_inference.tasks.predict` with
/// arguments `[request, arrival_timestamp, return_pickled]` (docs/redis-protocol.md).
enum CeleryTaskMessage {
    /// The task name llm-engine sends for cloudpickle and zip bundles.
    static let taskName = "hosted_model_inference.inference.async_inference.tasks.predict"

    /// The envelope's JSON text for task `id` on queue `queue`, carrying `request` (a JSON
    /// object's bytes, spliced in as they came, so numbers reach predict as written).
    static func envelope(request: [UInt8], returnPickled: Bool, id: String, queue: String, now: Date) -> String {
        let arrival = ISO8601DateFormatter.string(
            from: now, timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let body =
            "[[" + String(decoding: request, as: UTF8.self) + ",{\"__type__\":\"datetime\",\"__value__\":\""
            + arrival + "\"}," + (returnPickled ? "true" : "false")
            + "],{},{\"callbacks\":null,\"errbacks\":null,\"chain\":null,\"chord\":null}]"
        let headers: [String: Any] = [
            "lang": "py", "task": taskName, "id": id, "shadow": NSNull(), "eta": NSNull(), "expires": NSNull(),
            "group": NSNull(), "group_index": NSNull(), "retries": 0, "timelimit": [NSNull(), NSNull()],
            "root_id": id, "parent_id": NSNull(), "argsrepr": "", "kwargsrepr": "{}",
            "origin": "launch-worker-gateway", "ignore_result": false,
        ]
        let properties: [String: Any] = [
            "correlation_id": id, "reply_to": UUID().uuidString.lowercased(), "delivery_mode": 2,
            "delivery_info": ["exchange": "", "routing_key": queue], "priority": 0, "body_encoding": "base64",
            "delivery_tag": UUID().uuidString.lowercased(),
        ]
        let envelope: [String: Any] = [
            "body": Data(body.utf8).base64EncodedString(), "content-encoding": "utf-8",
            "content-type": "application/json", "headers": headers, "properties": properties,
        ]
        // Strings, numbers, nulls and nested objects always serialise.
        let data = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation

/// The Redis keys kombu's Redis transport uses, and its rules for priorities and restores.
public enum KombuLayout {
    /// kombu's separator in priority list names and binding members.
    public static let separator = "\u{06}\u{16}"
    /// The hash of unacked messages: delivery tag → JSON `[envelope, exchange, routing_key]`.
    public static let unacked = "unacked"
    /// The sorted set of unacked delivery tags, scored by when they were delivered (Unix seconds).
    public static let unackedIndex = "unacked_index"
    /// The lock a restorer holds while it restores messages past their visibility timeout.
    public static let unackedMutex = "unacked_mutex"
    /// How long the mutex lives if its holder dies (kombu's `unacked_mutex_expire`, 300 s).
    public static let unackedMutexExpireMilliseconds = 300_000
    /// kombu's priority steps.
    public static let prioritySteps = [0, 3, 6, 9]

    /// The lists of `queue`, in the order kombu serves them: the plain list (priority 0) first.
    public static func lists(of queue: String) -> [String] {
        prioritySteps.map { list(queue: queue, priority: $0) }
    }

    /// The list a message of `priority` goes to (kombu's `_q_for_pri`: clamped to 0...9 and
    /// rounded down to a step).
    public static func list(queue: String, priority: Int) -> String {
        let clamped = max(0, min(9, priority))
        let step = prioritySteps.last { $0 <= clamped } ?? 0
        return step == 0 ? queue : "\(queue)\(separator)\(step)"
    }

    /// The set of bindings of `exchange`: members `routing_key SEP pattern SEP queue`.
    public static func bindings(of exchange: String) -> String { "_kombu.binding.\(exchange)" }

    /// The queues of a direct exchange's binding members that match `routingKey`.
    public static func queues(bindings members: [String], routingKey: String) -> [String] {
        members.compactMap { member in
            let parts = member.components(separatedBy: separator)
            guard parts.count == 3, parts[0] == routingKey, !parts[2].isEmpty else { return nil }
            return parts[2]
        }
    }

    /// The `unacked` entry kombu writes for an envelope: `[envelope, exchange, routing_key]`,
    /// with the envelope's text kept as it was.
    public static func unackedEntry(envelope: [UInt8], exchange: String, routingKey: String) -> [UInt8] {
        Array("[".utf8) + envelope + Array(", \(JSONValue.quote(exchange)), \(JSONValue.quote(routingKey))]".utf8)
    }

    /// What restoring an `unacked` entry puts back on a queue, as kombu's `_do_restore_message`
    /// does: the envelope marked redelivered, where it goes, and its priority.
    public static func restoration(ofEntry entry: [UInt8]) -> Restoration? {
        guard let parts = try? JSONValue.parse(entry) as? [Any], parts.count == 3,
            var envelope = parts[0] as? [String: Any]
        else { return nil }
        if var headers = envelope["headers"] as? [String: Any] {
            headers["redelivered"] = true
            envelope["headers"] = headers
        }
        var priority = 0
        if var properties = envelope["properties"] as? [String: Any] {
            if var info = properties["delivery_info"] as? [String: Any] {
                info["redelivered"] = true
                properties["delivery_info"] = info
            }
            priority = (properties["priority"] as? Int) ?? 0
            envelope["properties"] = properties
        }
        return Restoration(
            payload: JSONValue.encode(envelope), exchange: parts[1] as? String ?? "",
            routingKey: parts[2] as? String ?? "", priority: priority)
    }

    /// A message on its way back to its queue.
    public struct Restoration: Sendable, Equatable {
        /// The envelope to push, marked redelivered.
        public var payload: [UInt8]
        /// The exchange it was published to (empty: the default exchange, routed by queue name).
        public var exchange: String
        /// Its routing key.
        public var routingKey: String
        /// Its priority (0 to 9).
        public var priority: Int
    }
}

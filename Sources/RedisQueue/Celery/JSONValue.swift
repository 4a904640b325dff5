import Foundation
import JSONBytes
import WorkerCore

/// Small helpers over `JSONSerialization` for the loosely typed values of Celery messages.
enum JSONValue {
    /// Parses JSON text (any top-level value).
    static func parse(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    /// Encodes a value as compact JSON text with sorted keys.
    static func encode(_ value: Any) -> [UInt8] {
        let data =
            (try? JSONSerialization.data(
                withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("null".utf8)
        return Array(data)
    }

    /// Encodes a string as a quoted JSON string.
    static func quote(_ text: String) -> String {
        JSONText.quote(text)
    }
}

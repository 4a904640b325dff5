/// Compact JSON text for flat objects of strings, written by hand: the answers on every hot
/// path (HTTP bodies, Celery results) are a few string members, and Foundation's encoders were
/// up to 15% of a busy worker's samples for them.
public enum JSONText {
    /// `text` as a quoted JSON string, escaping only what JSON requires (`"`, `\` and control
    /// characters); other characters, `/` and non-ASCII included, are written as they are.
    public static func quote(_ text: String) -> String {
        var quoted = "\""
        quoted.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// `{"key":"value",...}` in the order given, members with a nil value left out.
    public static func object(_ members: KeyValuePairs<String, String?>) -> String {
        var text = "{"
        for (key, value) in members {
            guard let value else { continue }
            if text.utf8.count > 1 { text += "," }
            text += quote(key) + ":" + quote(value)
        }
        return text + "}"
    }
}

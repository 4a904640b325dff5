/// Compact JSON text for flat objects of strings, written by hand: the answers on every hot
/// path (HTTP bodies, Celery results) are a few string members, and Foundation's encoders were
/// up to 15% of a busy worker's samples for them.
public enum JSONText {
    /// `text` as a quoted JSON string, escaping only what JSON requires (`"`, `\` and control
    /// characters); other characters, `/` and non-ASCII included, are written as they are.
    public static func quote(_ text: String) -> String {
        var quoted: [UInt8] = []
        quoted.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &quoted)
        return String(decoding: quoted, as: UTF8.self)
    }

    /// Appends `text` to `json` as ``quote(_:)`` writes it, without making a `String`.
    public static func appendQuoted(_ text: String, to json: inout [UInt8]) {
        var text = text
        json.append(UInt8(ascii: "\""))
        text.withUTF8 { bytes in
            // A string is valid UTF-8, so every byte below 0x80 is a whole ASCII character:
            // the runs between the ones that need escapes are copied as they are.
            var run = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                json.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                appendEscape(byte, to: &json)
                run = index + 1
            }
            json.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        json.append(UInt8(ascii: "\""))
    }

    /// `{"key":"value",...}` in the order given, members with a nil value left out.
    public static func object(_ members: KeyValuePairs<String, String?>) -> String {
        var json: [UInt8] = []
        appendObject(members, to: &json)
        return String(decoding: json, as: UTF8.self)
    }

    /// Appends the object that ``object(_:)`` writes to `json`.
    public static func appendObject(_ members: KeyValuePairs<String, String?>, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in members {
            guard let value else { continue }
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            appendQuoted(key, to: &json)
            json.append(UInt8(ascii: ":"))
            appendQuoted(value, to: &json)
        }
        json.append(UInt8(ascii: "}"))
    }

    /// The escape for `"`, `\` or a control character: the short forms JSON has for some, else
    /// `\u00xx` in lowercase hex.
    private static func appendEscape(_ byte: UInt8, to json: inout [UInt8]) {
        let short: UInt8? =
            switch byte {
            case 0x22: 0x22
            case 0x5C: 0x5C
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x09: UInt8(ascii: "t")
            default: nil
            }
        json.append(UInt8(ascii: "\\"))
        if let short {
            json.append(short)
            return
        }
        let low = byte & 0x0F
        json.append(contentsOf: "u00".utf8)
        json.append(UInt8(ascii: "0") + byte >> 4)
        json.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
    }
}

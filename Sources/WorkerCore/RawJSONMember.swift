import Foundation

/// Finds the raw text of a member of a top-level JSON object.
///
/// Passing `args` on as its original text (rather than re-encoding a parsed value) keeps what the
/// client sent exactly: `1.0` stays a float and big integers keep every digit.
enum RawJSONMember {
    /// The byte range of member `name`'s value in `json`, which must already be known to be a
    /// valid JSON object; the last occurrence wins, as with JSON parsers.
    static func find(_ name: String, in json: [UInt8]) -> Range<Int>? {
        var scanner = Scanner(bytes: json)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var found: Range<Int>?
        while true {
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: "\"") else { return found }
            let key = scanner.skipString()
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ":")) else { return found }
            scanner.skipWhitespace()
            let value = scanner.skipValue()
            if Self.decodeKey(json[key]) == name { found = value }
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ",")) else { return found }
        }
    }

    private static func decodeKey(_ quoted: ArraySlice<UInt8>) -> String? {
        guard quoted.contains(UInt8(ascii: "\\")) else {
            return String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
        }
        return try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// Skips a string starting at its opening quote; returns its range, quotes included.
        mutating func skipString() -> Range<Int> {
            let start = index
            index += 1
            while let byte = peek {
                index += byte == UInt8(ascii: "\\") ? 2 : 1
                if byte == UInt8(ascii: "\"") { break }
            }
            return start..<min(index, bytes.count)
        }

        /// Skips any value; returns its range.
        mutating func skipValue() -> Range<Int> {
            let start = index
            var depth = 0
            while let byte = peek {
                switch byte {
                case UInt8(ascii: "\""):
                    _ = skipString()
                    if depth == 0 { return start..<index }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return start..<index }
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return start..<index
                    }
                case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                    if depth == 0 { return start..<index }
                default:
                    break
                }
                index += 1
            }
            return start..<index
        }
    }
}

import Foundation

/// Finds the raw text of the parts of a JSON array or object without re-encoding them, so a
/// request's `args` reach predict exactly as the producer wrote them (`1.0` stays a float, big
/// integers keep every digit).
///
/// The input must already be known to be valid JSON (parse it with `JSONSerialization` first).
public enum RawJSON {
    /// The byte ranges of the elements of the top-level array in `json`, or nil when it is not an array.
    public static func elements(of json: [UInt8]) -> [Range<Int>]? {
        var scanner = Scanner(bytes: json)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "[")) else { return nil }
        var ranges: [Range<Int>] = []
        scanner.skipWhitespace()
        if scanner.take(UInt8(ascii: "]")) { return ranges }
        while true {
            scanner.skipWhitespace()
            ranges.append(scanner.skipValue())
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ",")) else { return ranges }
        }
    }

    /// The members of the top-level object in `json`, as (decoded key, value range), in order;
    /// nil when it is not an object.
    public static func members(of json: ArraySlice<UInt8>) -> [(key: String, value: Range<Int>)]? {
        var scanner = Scanner(bytes: json)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var members: [(key: String, value: Range<Int>)] = []
        while true {
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: "\"") else { return members }
            let key = scanner.skipString()
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ":")) else { return members }
            scanner.skipWhitespace()
            let value = scanner.skipValue()
            members.append((decodeKey(json[key]), value))
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ",")) else { return members }
        }
    }

    /// The byte range of member `name`'s value in the top-level object in `json`; the last
    /// occurrence wins, as with JSON parsers.
    public static func member(_ name: String, of json: [UInt8]) -> Range<Int>? {
        members(of: json[...])?.last { $0.key == name }?.value
    }

    private static func decodeKey(_ quoted: ArraySlice<UInt8>) -> String {
        let inner = quoted.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        let decoded = try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
        return decoded ?? String(decoding: inner, as: UTF8.self)
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: [UInt8]) {
            self.init(bytes: bytes[...])
        }

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            index = bytes.startIndex
        }

        var peek: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// Skips a string starting at its opening quote; returns its range, quotes included.
        mutating func skipString() -> Range<Int> {
            let start = index
            index += 1
            while let byte = peek {
                index += 1
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    break
                }
            }
            return start..<min(index, bytes.endIndex)
        }

        /// Skips any value; returns its range.
        mutating func skipValue() -> Range<Int> {
            let start = index
            switch peek {
            case UInt8(ascii: "\""):
                _ = skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while let byte = peek {
                    if byte == UInt8(ascii: "\"") {
                        _ = skipString()
                        continue
                    }
                    index += 1
                    if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                    if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { break }
                    }
                }
            default:
                while let byte = peek, !",]} \t\r\n".utf8.contains(byte) { index += 1 }
            }
            return start..<index
        }
    }
}

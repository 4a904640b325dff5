import Foundation

/// Finds the raw text of the parts of a JSON array or object without re-encoding them, so a
/// request's `args` reach predict exactly as the producer wrote them (`1.0` stays a float, big
/// integers keep every digit).
///
/// Values are not checked: parse text that must be valid JSON with `JSONSerialization` first,
/// or read only the members you need, each checked as you read it (``RawJSON/Object``). Bytes that
/// are not JSON never make it trap.
public enum RawJSON {
    /// The byte ranges of the elements of the array that is all of `json` (whitespace aside), in
    /// `json`'s indices; nil when it is not an array, or not a whole one.
    public static func elements(of json: ArraySlice<UInt8>) -> [Range<Int>]? {
        var scanner = Scanner(bytes: json)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "[")) else { return nil }
        var ranges: [Range<Int>] = []
        scanner.skipWhitespace()
        if !scanner.take(UInt8(ascii: "]")) {
            while true {
                scanner.skipWhitespace()
                let value = scanner.skipValue()
                guard !value.isEmpty else { return nil }
                ranges.append(value)
                scanner.skipWhitespace()
                if scanner.take(UInt8(ascii: "]")) { break }
                guard scanner.take(UInt8(ascii: ",")) else { return nil }
            }
        }
        scanner.skipWhitespace()
        return scanner.peek == nil ? ranges : nil
    }

    /// The members of the object that is all of `json` (whitespace aside), as (decoded key, value
    /// range), in order; nil when it is not an object, or not a whole one.
    public static func members(of json: ArraySlice<UInt8>) -> [(key: String, value: Range<Int>)]? {
        memberRanges(of: json)?.map { (string(json[$0.key]) ?? "", $0.value) }
    }

    /// The members of the object that is all of `json`, as (quoted key's range, value range).
    static func memberRanges(of json: ArraySlice<UInt8>) -> [(key: Range<Int>, value: Range<Int>)]? {
        var scanner = Scanner(bytes: json)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var members: [(key: Range<Int>, value: Range<Int>)] = []
        scanner.skipWhitespace()
        if !scanner.take(UInt8(ascii: "}")) {
            while true {
                scanner.skipWhitespace()
                guard scanner.peek == UInt8(ascii: "\"") else { return nil }
                let key = scanner.skipString()
                scanner.skipWhitespace()
                guard scanner.take(UInt8(ascii: ":")) else { return nil }
                scanner.skipWhitespace()
                let value = scanner.skipValue()
                guard !value.isEmpty else { return nil }
                members.append((key, value))
                scanner.skipWhitespace()
                if scanner.take(UInt8(ascii: "}")) { break }
                guard scanner.take(UInt8(ascii: ",")) else { return nil }
            }
        }
        scanner.skipWhitespace()
        return scanner.peek == nil ? members : nil
    }

    /// The byte range of member `name`'s value in the top-level object in `json`; the last
    /// occurrence wins, as with JSON parsers.
    public static func member(_ name: String, of json: [UInt8]) -> Range<Int>? {
        members(of: json[...])?.last { $0.key == name }?.value
    }

    /// The string that the JSON text `quoted` is, nil when it is not a whole string.
    public static func string(_ quoted: ArraySlice<UInt8>) -> String? {
        guard quoted.count >= 2, quoted.first == UInt8(ascii: "\""), quoted.last == UInt8(ascii: "\"") else {
            return nil
        }
        let inner = quoted.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(validating: inner, as: UTF8.self) }
        return try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int

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
            index = min(index, bytes.endIndex)
            return start..<index
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

extension RawJSON {
    /// A JSON object found by scanning, each member's value read, and checked, only when asked
    /// for: reading a few members of a large object costs no more than finding them.
    public struct Object: Sendable {
        private let json: ArraySlice<UInt8>
        private let ranges: [(key: Range<Int>, value: Range<Int>)]

        /// The object that is all of `json`, or nil when `json` is not a whole object.
        public init?(_ json: ArraySlice<UInt8>) {
            guard let ranges = RawJSON.memberRanges(of: json) else { return nil }
            self.json = json
            self.ranges = ranges
        }

        /// The members, as (decoded key, the value's JSON text), in order.
        public var members: [(key: String, value: ArraySlice<UInt8>)] {
            ranges.map { (RawJSON.string(json[$0.key]) ?? "", json[$0.value]) }
        }

        /// Member `key`'s JSON text (the last member of that name, as JSON parsers read it).
        public subscript(raw key: String) -> ArraySlice<UInt8>? {
            ranges.last { Self.quoted(json[$0.key], is: key) }.map { json[$0.value] }
        }

        /// Whether the quoted key `quoted` is `key`; compared as bytes unless it has escapes.
        private static func quoted(_ quoted: ArraySlice<UInt8>, is key: String) -> Bool {
            let inner = quoted.dropFirst().dropLast()
            guard inner.contains(UInt8(ascii: "\\")) else { return inner.elementsEqual(key.utf8) }
            return RawJSON.string(quoted) == key
        }

        /// Member `key` when it is a string.
        public func string(_ key: String) -> String? {
            self[raw: key].flatMap(RawJSON.string)
        }

        /// Member `key` when it is an object.
        public func object(_ key: String) -> Object? {
            self[raw: key].flatMap(Object.init)
        }

        /// Member `key` when it is `true` or `false`.
        public func bool(_ key: String) -> Bool? {
            switch self[raw: key].map({ String(decoding: $0, as: UTF8.self) }) {
            case "true": true
            case "false": false
            default: nil
            }
        }

        /// Member `key` when it is an integer.
        public func int(_ key: String) -> Int? {
            self[raw: key].flatMap { Int(String(decoding: $0, as: UTF8.self)) }
        }
    }
}

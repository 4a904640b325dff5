import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the raw text of the parts of a JSON array or object without re-encoding them, so a
/// request's `args` reach predict exactly as the producer wrote them (`1.0` stays a float, big
/// integers keep every digit).
///
/// Values are not checked: check text that must be valid JSON with ``JSONValidator`` first, or
/// read only the members you need, each checked as you read it (``RawJSON/Object``). Bytes that
/// are not JSON never make it trap.
public enum RawJSON {
    /// The byte ranges of the elements of the array that is all of `json` (whitespace aside), in
    /// `json`'s indices; nil when it is not an array, or not a whole one.
    public static func elements(of json: ArraySlice<UInt8>) -> [Range<Int>]? {
        json.withUnsafeBufferPointer { bytes in
            var scanner = Scanner(bytes: bytes, offset: json.startIndex)
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: "[")) else { return nil }
            var ranges: [Range<Int>] = []
            ranges.reserveCapacity(4)
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
            return scanner.atEnd ? ranges : nil
        }
    }

    /// The members of the object that is all of `json` (whitespace aside), as (decoded key, value
    /// range), in order; nil when it is not an object, or not a whole one.
    public static func members(of json: ArraySlice<UInt8>) -> [(key: String, value: Range<Int>)]? {
        memberRanges(of: json)?.map { (string(json[$0.key]) ?? "", $0.value) }
    }

    /// Where a member of an object is, in the indices of the object's text.
    struct MemberRange {
        /// The key, quotes included.
        var key: Range<Int>
        /// What the key's text holds: whether it can be compared without decoding it.
        var keyKind: TextKind
        /// The value.
        var value: Range<Int>
    }

    /// What the text inside a string's quotes holds.
    enum TextKind {
        /// ASCII without escapes: the text is the string.
        case ascii
        /// No escapes, some bytes above ASCII: the string is the text if it is valid UTF-8.
        case unescaped
        /// Escapes: only decoding it gives the string.
        case escaped

        /// The kind of `text`.
        init(of text: UnsafeBufferPointer<UInt8>) {
            // One pass with no early exit: a loop the compiler vectorizes.
            var bits: UInt8 = 0
            var backslashes = 0
            for byte in text {
                bits |= byte
                backslashes &+= byte == UInt8(ascii: "\\") ? 1 : 0
            }
            self = backslashes > 0 ? .escaped : bits < 0x80 ? .ascii : .unescaped
        }
    }

    /// The members of the object that is all of `json`, found by scanning.
    static func memberRanges(of json: ArraySlice<UInt8>) -> [MemberRange]? {
        json.withUnsafeBufferPointer { bytes in
            var scanner = Scanner(bytes: bytes, offset: json.startIndex)
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: "{")) else { return nil }
            var members: [MemberRange] = []
            // Room for most objects in one allocation: a Celery message's headers have about 20.
            members.reserveCapacity(16)
            scanner.skipWhitespace()
            if !scanner.take(UInt8(ascii: "}")) {
                while true {
                    scanner.skipWhitespace()
                    guard scanner.peek == UInt8(ascii: "\"") else { return nil }
                    let key = scanner.skipString()
                    let keyKind = TextKind(of: scanner.inside(key))
                    scanner.skipWhitespace()
                    guard scanner.take(UInt8(ascii: ":")) else { return nil }
                    scanner.skipWhitespace()
                    let value = scanner.skipValue()
                    guard !value.isEmpty else { return nil }
                    members.append(MemberRange(key: key, keyKind: keyKind, value: value))
                    scanner.skipWhitespace()
                    if scanner.take(UInt8(ascii: "}")) { break }
                    guard scanner.take(UInt8(ascii: ",")) else { return nil }
                }
            }
            scanner.skipWhitespace()
            return scanner.atEnd ? members : nil
        }
    }

    /// The byte range of member `name`'s value in the top-level object in `json`; the last
    /// occurrence wins, as with JSON parsers.
    public static func member(_ name: String, of json: [UInt8]) -> Range<Int>? {
        guard let ranges = memberRanges(of: json[...]) else { return nil }
        var utf8 = name
        return utf8.withUTF8 { wanted in
            let asciiName = TextKind(of: wanted) == .ascii
            return json.withUnsafeBufferPointer { bytes in
                ranges.last { range in
                    let key = UnsafeBufferPointer(rebasing: bytes[range.key])
                    // ASCII strings are equal only when their bytes are; others are compared decoded.
                    guard asciiName, range.keyKind == .ascii else { return (string(in: key) ?? "") == name }
                    return key.dropFirst().dropLast().elementsEqual(wanted)
                }?.value
            }
        }
    }

    /// The string that the JSON text `quoted` is, nil when it is not a whole string.
    public static func string(_ quoted: ArraySlice<UInt8>) -> String? {
        quoted.withUnsafeBufferPointer(string(in:))
    }

    /// The string that the JSON text `bytes` is, nil when it is not a whole string.
    private static func string(in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let inner = inside(bytes) else { return nil }
        switch TextKind(of: inner) {
        case .ascii: return String(decoding: inner, as: UTF8.self)
        case .unescaped: return String(validating: inner, as: UTF8.self)
        case .escaped:
            return try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) as? String
        }
    }

    /// The UTF-8 of the string that the JSON text `quoted` is, nil when it is not a whole string
    /// (as ``string(_:)`` reads it). A string of ASCII without escapes, the usual kind, is not
    /// copied: its UTF-8 is the text between its quotes.
    public static func stringBytes(_ quoted: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let kind = quoted.withUnsafeBufferPointer { inside($0).map(TextKind.init) }
        switch kind {
        case nil: return nil
        case .ascii?: return quoted.dropFirst().dropLast()
        case .unescaped?, .escaped?: return string(quoted).map { Array($0.utf8)[...] }
        }
    }

    /// Whether the JSON text `json` is `literal` (`null`, `true`, a number), byte for byte.
    public static func text(_ json: ArraySlice<UInt8>, is literal: StaticString) -> Bool {
        json.withUnsafeBufferPointer { text in literal.withUTF8Buffer { text.elementsEqual($0) } }
    }

    /// The bytes between the quotes of `bytes`, nil when it does not start and end with one.
    private static func inside(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "\"") else {
            return nil
        }
        return UnsafeBufferPointer(rebasing: bytes[1..<bytes.count - 1])
    }

    /// The index of the last of `members` whose key is `key` (`utf8` is its UTF-8) in `bytes`, the
    /// object's text starting at index `start`. Only a key with escapes can be `key` without being
    /// its bytes: the others are compared as bytes.
    private static func lastIndex(
        of key: String, _ utf8: UnsafeBufferPointer<UInt8>, in members: UnsafeBufferPointer<MemberRange>,
        bytes: UnsafeBufferPointer<UInt8>, start: Int
    ) -> Int? {
        var index = members.count
        while index > 0 {
            index -= 1
            let range = members[index].key
            let text = UnsafeBufferPointer(rebasing: bytes[(range.lowerBound - start)..<(range.upperBound - start)])
            if members[index].keyKind == .escaped {
                if string(in: text) == key { return index }
            } else if text.count - 2 == utf8.count {
                if utf8.isEmpty || memcmp(text.baseAddress! + 1, utf8.baseAddress!, utf8.count) == 0 { return index }
            }
        }
        return nil
    }

    /// Reads JSON structure out of a buffer; the ranges it returns are in the indices of the
    /// collection the buffer came from (`offset` is its start index).
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let offset: Int
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>, offset: Int) {
            self.bytes = bytes
            self.offset = offset
        }

        var atEnd: Bool { index >= bytes.count }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// The text inside the quotes of the string at `range` (in the collection's indices).
        func inside(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: bytes[(range.lowerBound + 1 - offset)..<(range.upperBound - 1 - offset)])
        }

        /// Skips a string starting at its opening quote; returns its range, quotes included.
        mutating func skipString() -> Range<Int> {
            let start = index
            index += 1
            // The next quote closes the string unless an odd run of backslashes escapes it.
            while index < bytes.count {
                guard let found = memchr(bytes.baseAddress! + index, 0x22, bytes.count - index) else {
                    index = bytes.count
                    break
                }
                let quote = UnsafeRawPointer(bytes.baseAddress!).distance(to: UnsafeRawPointer(found))
                index = quote + 1
                var backslashes = 0
                while quote - backslashes - 1 > start, bytes[quote - backslashes - 1] == 0x5C { backslashes += 1 }
                if backslashes.isMultiple(of: 2) { break }
            }
            return start + offset..<index + offset
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
                    switch byte {
                    case UInt8(ascii: "\""):
                        _ = skipString()
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                    default:
                        break
                    }
                    index += 1
                    if depth == 0 { break }
                }
            default:
                scalar: while let byte = peek {
                    switch byte {
                    case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0D, 0x0A: break scalar
                    default: index += 1
                    }
                }
            }
            return start + offset..<index + offset
        }
    }
}

extension RawJSON {
    /// A JSON object found by scanning, each member's value read, and checked, only when asked
    /// for: reading a few members of a large object costs no more than finding them.
    public struct Object: Sendable {
        private let json: ArraySlice<UInt8>
        private let ranges: [MemberRange]

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
            var utf8 = key
            let found = utf8.withUTF8 { utf8 in
                json.withUnsafeBufferPointer { bytes in
                    ranges.withUnsafeBufferPointer {
                        RawJSON.lastIndex(of: key, utf8, in: $0, bytes: bytes, start: json.startIndex)
                    }
                }
            }
            return found.map { json[ranges[$0].value] }
        }

        /// Member `key` when it is a string.
        public func string(_ key: String) -> String? {
            self[raw: key].flatMap(RawJSON.string)
        }

        /// Whether member `key` is a string equal to `value` (`string(key) == value`), answered
        /// without making a `String` when the member's bytes are `value`'s.
        public func string(_ key: String, is value: String) -> Bool {
            guard let raw = self[raw: key] else { return false }
            var utf8 = value
            let same = utf8.withUTF8 { wanted in
                raw.withUnsafeBufferPointer {
                    RawJSON.inside($0).map { TextKind(of: $0) == .ascii && $0.elementsEqual(wanted) }
                }
            }
            return same == true || RawJSON.string(raw) == value
        }

        /// Member `key` when it is an object.
        public func object(_ key: String) -> Object? {
            self[raw: key].flatMap(Object.init)
        }

        /// Member `key` when it is `true` or `false`.
        public func bool(_ key: String) -> Bool? {
            guard let value = self[raw: key] else { return nil }
            if RawJSON.text(value, is: "true") { return true }
            return RawJSON.text(value, is: "false") ? false : nil
        }

        /// Member `key` when it is an integer.
        public func int(_ key: String) -> Int? {
            self[raw: key].flatMap { Int(String(decoding: $0, as: UTF8.self)) }
        }
    }
}

/// Checks that bytes are one JSON text (RFC 8259) without building anything, so that a request
/// can then be read member by member (``RawJSON/Object``), its text known to be whole and well
/// formed.
///
/// It rejects what `JSONSerialization.jsonObject(with:)`, default options, rejects: a top-level
/// value that is not an object or an array; numbers not written as the RFC writes them, or too
/// large for a `Double`; unescaped control characters, escapes other than the RFC's, and a `\u`
/// surrogate without its pair in strings; invalid UTF-8 anywhere; whitespace other than space,
/// tab, CR and LF; and nesting deeper than ``maximumDepth``. Where Foundation is laxer than the
/// RFC, it is not: it rejects trailing commas, a byte order mark, UTF-16 and UTF-32 text, and a
/// number too large for a `Double` in a member that a later duplicate replaces.
///
/// It never recurses, so no nesting can overflow the stack, and no bytes make it trap.
public enum JSONValidator {
    /// The deepest nesting of arrays and objects accepted; Foundation's limit.
    public static let maximumDepth = 512

    /// Whether `json` is one JSON object or array and nothing else but whitespace.
    public static func isValid(_ json: [UInt8]) -> Bool {
        firstInvalidByte(in: json) == nil
    }

    /// The offset of the first byte at which `json` stops being one JSON object or array
    /// (`json.count` when it ends too soon), or nil when all of it is.
    public static func firstInvalidByte(in json: [UInt8]) -> Int? {
        json.withUnsafeBufferPointer { bytes in
            withUnsafeTemporaryAllocation(of: Bool.self, capacity: maximumDepth) { isObject in
                var validator = Validator(bytes: bytes, isObject: isObject)
                return validator.run()
            }
        }
    }
}

extension JSONValidator {
    /// The scan: a cursor, and for each open array or object, which of the two it is.
    private struct Validator {
        /// What the next non-whitespace bytes must be.
        private enum Expected {
            case value, key, commaOrClose
        }

        let bytes: UnsafeBufferPointer<UInt8>
        /// One entry per open container, innermost last: true for an object.
        let isObject: UnsafeMutableBufferPointer<Bool>
        var index = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>, isObject: UnsafeMutableBufferPointer<Bool>) {
            self.bytes = bytes
            self.isObject = isObject
        }

        private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        /// Runs to the end of the text; returns the offset where it went wrong, nil when it did not.
        mutating func run() -> Int? {
            skipWhitespace()
            guard peek == UInt8(ascii: "{") || peek == UInt8(ascii: "[") else { return index }
            var expected = Expected.value
            while true {
                skipWhitespace()
                switch expected {
                case .value:
                    guard let next = value() else { return index }
                    expected = next
                case .key:
                    guard peek == UInt8(ascii: "\""), string() else { return index }
                    skipWhitespace()
                    guard take(UInt8(ascii: ":")) else { return index }
                    expected = .value
                case .commaOrClose:
                    guard depth > 0 else { return index == bytes.count ? nil : index }
                    let inObject = isObject[depth - 1]
                    if take(UInt8(ascii: ",")) {
                        expected = inObject ? .key : .value
                    } else if take(inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        depth -= 1
                    } else {
                        return index
                    }
                }
            }
        }

        /// Reads a value, or opens a container; returns what must follow, nil when it is not a value.
        private mutating func value() -> Expected? {
            guard let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maximumDepth else { return nil }
                let opensObject = byte == UInt8(ascii: "{")
                index += 1
                skipWhitespace()
                if take(opensObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) { return .commaOrClose }
                isObject[depth] = opensObject
                depth += 1
                return opensObject ? .key : .value
            case UInt8(ascii: "\""):
                return string() ? .commaOrClose : nil
            case UInt8(ascii: "t"):
                return literal("true") ? .commaOrClose : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .commaOrClose : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .commaOrClose : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return number() ? .commaOrClose : nil
            default:
                return nil
            }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// `word`, byte for byte.
        private mutating func literal(_ word: StaticString) -> Bool {
            for byte in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
                guard take(byte) else { return false }
            }
            return true
        }

        /// Skips one or more digits; false when there is none.
        private mutating func digits() -> Bool {
            let start = index
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index > start
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, whose value is a finite `Double`.
        private mutating func number() -> Bool {
            let start = index
            _ = take(UInt8(ascii: "-"))
            if !take(UInt8(ascii: "0")) {
                guard digits() else { return false }
            }
            if take(UInt8(ascii: ".")) {
                guard digits() else { return false }
            }
            var hasExponent = false
            if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
                hasExponent = true
                _ = take(UInt8(ascii: "+")) || take(UInt8(ascii: "-"))
                guard digits() else { return false }
            }
            // Only an exponent or more digits than a Double's range can make it infinite.
            guard hasExponent || index - start > 300 else { return true }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard Double(text)?.isFinite == true else {
                index = start
                return false
            }
            return true
        }

        /// A string from its opening quote; false at an unescaped control character, a bad escape,
        /// or invalid UTF-8, with `index` on the byte that is wrong.
        private mutating func string() -> Bool {
            index += 1
            while let byte = peek {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"):
                    guard escape() else { return false }
                case 0x20..<0x80:
                    index += 1
                case 0x80...:
                    guard utf8Sequence() else { return false }
                default:
                    return false
                }
            }
            return false
        }

        /// `\` and one of `"\/bfnrt`, or `\u` and four hex digits: a surrogate only in a pair.
        private mutating func escape() -> Bool {
            index += 1
            switch peek {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                index += 1
                return true
            case UInt8(ascii: "u"):
                index += 1
                guard let unit = hex4() else { return false }
                switch unit {
                case 0xD800...0xDBFF:
                    guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4() else { return false }
                    return (0xDC00...0xDFFF).contains(low)
                case 0xDC00...0xDFFF:
                    return false
                default:
                    return true
                }
            default:
                return false
            }
        }

        /// Four hex digits, as the UTF-16 code unit they spell.
        private mutating func hex4() -> UInt16? {
            var unit: UInt16 = 0
            for _ in 0..<4 {
                guard let byte = peek else { return nil }
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                unit = unit << 4 | UInt16(digit)
                index += 1
            }
            return unit
        }

        /// One UTF-8 encoded scalar of two to four bytes: not overlong, not a surrogate, at most
        /// U+10FFFF (the Unicode standard's table 3-7).
        private mutating func utf8Sequence() -> Bool {
            let lead = bytes[index]
            let second: ClosedRange<UInt8>
            let count: Int
            switch lead {
            case 0xC2...0xDF: (second, count) = (0x80...0xBF, 2)
            case 0xE0: (second, count) = (0xA0...0xBF, 3)
            case 0xE1...0xEC, 0xEE...0xEF: (second, count) = (0x80...0xBF, 3)
            case 0xED: (second, count) = (0x80...0x9F, 3)
            case 0xF0: (second, count) = (0x90...0xBF, 4)
            case 0xF1...0xF3: (second, count) = (0x80...0xBF, 4)
            case 0xF4: (second, count) = (0x80...0x8F, 4)
            default: return false
            }
            index += 1
            guard let byte = peek, second.contains(byte) else { return false }
            index += 1
            for _ in 2..<count {
                guard let byte = peek, (0x80...0xBF).contains(byte) else { return false }
                index += 1
            }
            return true
        }
    }
}

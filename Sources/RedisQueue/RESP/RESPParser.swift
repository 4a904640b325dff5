/// Reads RESP2 and RESP3 replies from bytes, one whole value at a time.
///
/// Pure: it looks at bytes and says how many make a whole value; it never waits. A value split
/// across reads is reported as incomplete (nil), to be parsed again once more bytes came.
public struct RESPParser: Sendable {
    /// The deepest nesting of aggregates accepted (a guard against a hostile server).
    public var maximumDepth = 64
    /// The longest string or aggregate accepted (Redis's own limit is 512 MiB).
    public var maximumLength = 512 << 20

    /// A parser with the default limits.
    public init() {}

    /// Parses one value from the start of `bytes`.
    ///
    /// - Returns: the value and how many bytes it took, or nil when `bytes` ends before the value does.
    /// - Throws: ``RESPError`` when the bytes are not RESP.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(RESPError) -> (value: RESPValue, length: Int)? {
        var reader = Reader(bytes: bytes, parser: self)
        guard let value = try reader.value(depth: 0) else { return nil }
        return (value, reader.index)
    }

    /// Parses one value from the start of `bytes` (see ``parse(_:)-(UnsafeRawBufferPointer)``).
    public func parse(_ bytes: [UInt8]) throws(RESPError) -> (value: RESPValue, length: Int)? {
        do {
            return try bytes.withUnsafeBytes { buffer in try parse(buffer) }
        } catch let error as RESPError {
            throw error
        } catch {
            throw RESPError("unexpected \(error)")
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let parser: RESPParser
        var index = 0

        mutating func value(depth: Int) throws(RESPError) -> RESPValue? {
            guard depth <= parser.maximumDepth else {
                throw RESPError("replies nested deeper than \(parser.maximumDepth)")
            }
            guard index < bytes.count else { return nil }
            let kind = bytes[index]
            index += 1
            guard let line = try line() else { return nil }
            switch kind {
            case UInt8(ascii: "+"): return .simpleString(line)
            case UInt8(ascii: "-"): return .error(line)
            case UInt8(ascii: ":"):
                guard let value = Int64(line) else { throw RESPError("bad integer \(line.debugDescription)") }
                return .integer(value)
            case UInt8(ascii: "$"):
                guard let body = try blob(line) else { return nil }
                return body.map { .bulkString($0) } ?? .null
            case UInt8(ascii: "!"):
                guard let body = try blob(line) else { return nil }
                return .error(String(decoding: body ?? [], as: UTF8.self))
            case UInt8(ascii: "="):
                guard let body = try blob(line) else { return nil }
                guard let body, body.count >= 4, body[3] == UInt8(ascii: ":") else {
                    throw RESPError("a verbatim string must start with a three-letter format and ':'")
                }
                return .verbatimString(format: String(decoding: body[0..<3], as: UTF8.self), text: Array(body[4...]))
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                guard let count = try length(line) else { return .null }
                var values: [RESPValue] = []
                values.reserveCapacity(min(count, 1024))
                for _ in 0..<count {
                    guard let element = try value(depth: depth + 1) else { return nil }
                    values.append(element)
                }
                return kind == UInt8(ascii: "*")
                    ? .array(values) : kind == UInt8(ascii: "~") ? .set(values) : .push(values)
            case UInt8(ascii: "%"), UInt8(ascii: "|"):
                guard let count = try length(line) else { throw RESPError("a map cannot have a negative length") }
                var pairs: [RESPPair] = []
                for _ in 0..<count {
                    guard let key = try value(depth: depth + 1), let item = try value(depth: depth + 1) else {
                        return nil
                    }
                    pairs.append(RESPPair(key: key, value: item))
                }
                // An attribute describes the reply that follows it: skip it and read that reply.
                return kind == UInt8(ascii: "%") ? .map(pairs) : try value(depth: depth)
            case UInt8(ascii: "_"): return .null
            case UInt8(ascii: "#"):
                guard line == "t" || line == "f" else { throw RESPError("bad boolean \(line.debugDescription)") }
                return .boolean(line == "t")
            case UInt8(ascii: ","):
                let text = line.lowercased()
                let value = text == "inf" ? Double.infinity : text == "-inf" ? -Double.infinity : Double(line)
                guard let value else { throw RESPError("bad double \(line.debugDescription)") }
                return .double(value)
            case UInt8(ascii: "("):
                guard !line.isEmpty, line.dropFirst(line.first == "-" ? 1 : 0).allSatisfy(\.isNumber) else {
                    throw RESPError("bad big number \(line.debugDescription)")
                }
                return .bigNumber(line)
            default:
                throw RESPError("unknown reply type byte \(kind)")
            }
        }

        /// The text up to the next CRLF, consuming it, or nil when there is no CRLF yet.
        mutating func line() throws(RESPError) -> String? {
            var end = index
            while end + 1 < bytes.count {
                if bytes[end] == 13 {
                    guard bytes[end + 1] == 10 else { throw RESPError("a CR not followed by LF") }
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
                    index = end + 2
                    return text
                }
                end += 1
            }
            return nil
        }

        /// A length line: nil for -1 (null), a count otherwise.
        func length(_ line: String) throws(RESPError) -> Int? {
            guard let count = Int(line), count >= -1 else { throw RESPError("bad length \(line.debugDescription)") }
            guard count <= parser.maximumLength else { throw RESPError("a length of \(count) is over the limit") }
            return count == -1 ? nil : count
        }

        /// A length-prefixed body: `.some(nil)` for a null, nil when incomplete.
        mutating func blob(_ line: String) throws(RESPError) -> [UInt8]?? {
            guard let count = try length(line) else { return .some(nil) }
            guard index + count + 2 <= bytes.count else { return nil }
            guard bytes[index + count] == 13, bytes[index + count + 1] == 10 else {
                throw RESPError("a string of \(count) bytes is not followed by CRLF")
            }
            let body = Array(UnsafeRawBufferPointer(rebasing: bytes[index..<index + count]))
            index += count + 2
            return .some(body)
        }
    }
}

/// Bytes that are not RESP: the connection cannot be trusted after one.
public struct RESPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String

    /// Makes an error naming what was wrong.
    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "the Redis server sent bytes that are not RESP: \(reason)" }
}

/// One reply from a Redis server, in RESP2 or RESP3.
///
/// RESP3's attributes (`|`) are metadata about the reply that follows them: the parser skips
/// them. A RESP3 blob error (`!`) becomes ``error(_:)``, a RESP3 null (`_`) and RESP2's null
/// bulk string and null array become ``null``.
public enum RESPValue: Sendable, Equatable {
    /// `+OK`: a short status text.
    case simpleString(String)
    /// `-ERR ...` or `!`: an error reply, with its text (the first word is its code).
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello`: a binary-safe string.
    case bulkString([UInt8])
    /// `*N ...`: an array of replies.
    case array([RESPValue])
    /// RESP2's `$-1` / `*-1`, or RESP3's `_`.
    case null
    /// RESP3 `,3.14`.
    case double(Double)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `(12345...`: an integer too big for 64 bits, as its decimal text.
    case bigNumber(String)
    /// RESP3 `=15 txt:...`: text with a three-letter format.
    case verbatimString(format: String, text: [UInt8])
    /// RESP3 `%N`: key-value pairs, in the server's order.
    case map([RESPPair])
    /// RESP3 `~N`: an unordered collection.
    case set([RESPValue])
    /// RESP3 `>N`: an out-of-band message (pub/sub, client tracking).
    case push([RESPValue])

    /// The reply as text, when it is a string of some kind (bulk, simple, verbatim) or an integer.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let text): String(decoding: text, as: UTF8.self)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The reply's bytes, when it is a bulk or verbatim string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .verbatimString(_, let text): text
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The reply as an integer, when it is one (or a string holding one).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push reply; the keys and values, alternating, of a map
    /// (as RESP2 sends them).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        case .map(let pairs): pairs.flatMap { [$0.key, $0.value] }
        default: nil
        }
    }

    /// Whether the reply is `null`.
    public var isNull: Bool { self == .null }

    /// The error's text, when the reply is an error.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

/// One key-value pair of a RESP3 map.
public struct RESPPair: Sendable, Equatable {
    /// The key.
    public var key: RESPValue
    /// The value.
    public var value: RESPValue

    /// Makes a pair.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

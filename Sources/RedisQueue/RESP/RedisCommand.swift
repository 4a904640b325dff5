/// One command to send to Redis: its name and arguments, each a binary-safe string.
public struct RedisCommand: Sendable, Equatable {
    /// The name, then the arguments.
    public var arguments: [[UInt8]]

    /// A command from text parts: `RedisCommand("SET", "key", "value")`.
    public init(_ parts: String...) {
        arguments = parts.map { Array($0.utf8) }
    }

    /// A command from a list of text parts.
    public init(_ parts: [String]) {
        arguments = parts.map { Array($0.utf8) }
    }

    /// A command from binary-safe parts.
    public init(bytes: [[UInt8]]) {
        arguments = bytes
    }

    /// The command's name, for messages.
    public var name: String { arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? "" }

    /// The command as RESP: an array of bulk strings.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Appends the command as RESP to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        Self.appendHeader(UInt8(ascii: "*"), arguments.count, to: &bytes)
        for argument in arguments {
            Self.appendHeader(UInt8(ascii: "$"), argument.count, to: &bytes)
            bytes.append(contentsOf: argument)
            bytes.append(13)
            bytes.append(10)
        }
    }

    /// About how many bytes ``encode(into:)`` appends, to reserve them at once.
    var encodedSize: Int {
        arguments.reduce(16) { $0 + $1.count + 16 }
    }

    /// Appends `*COUNT\r\n` or `$COUNT\r\n`, the count in decimal.
    private static func appendHeader(_ kind: UInt8, _ count: Int, to bytes: inout [UInt8]) {
        bytes.append(kind)
        var divisor = 1
        while divisor <= count / 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(count / divisor % 10))
            divisor /= 10
        }
        bytes.append(13)
        bytes.append(10)
    }
}

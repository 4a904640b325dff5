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
        bytes.append(UInt8(ascii: "*"))
        bytes.append(contentsOf: String(arguments.count).utf8)
        bytes.append(contentsOf: [13, 10])
        for argument in arguments {
            bytes.append(UInt8(ascii: "$"))
            bytes.append(contentsOf: String(argument.count).utf8)
            bytes.append(contentsOf: [13, 10])
            bytes.append(contentsOf: argument)
            bytes.append(contentsOf: [13, 10])
        }
    }
}

import Hummingbird

/// Where the HTTP endpoint listens: `unix:/path/to.sock`, `HOST:PORT`, or just `PORT`
/// (on 127.0.0.1).
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A TCP host and port.
    case tcp(host: String, port: Int)
    /// A Unix domain socket, made owner-only.
    case unix(path: String)

    /// Parses `unix:PATH`, `HOST:PORT`, `[IPv6]:PORT` or `PORT`; nil when malformed.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            guard let port = Int(text), (0...65535).contains(port) else { return nil }
            self = .tcp(host: "127.0.0.1", port: port)
            return
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        self = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    /// Whether only this machine can connect: a Unix socket, or a loopback host.
    public var isLocalOnly: Bool {
        switch self {
        case .unix: true
        case .tcp(let host, _): host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    var bindAddress: BindAddress {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): .hostname(host, port: port)
        }
    }
}

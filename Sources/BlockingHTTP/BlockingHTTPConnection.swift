#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 client connection over a real socket, TCP to 127.0.0.1 or a Unix socket,
/// that sends bytes as given and reads responses by their `Content-Length`: for callers on
/// threads of their own that measure a server (`bench`'s callers) or control the bytes on the
/// wire (tests: pipelining, any header, any body size).
///
/// - Important: Every call blocks its thread: never call it on Swift's cooperative pool.
public final class BlockingHTTPConnection {
    /// Where to connect.
    public enum Address: Sendable, CustomStringConvertible {
        /// TCP to 127.0.0.1 on `port`.
        case tcp(port: Int)
        /// A Unix socket.
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let port): "127.0.0.1:\(port)"
            case .unix(let path): "unix:\(path)"
            }
        }
    }

    /// One response, its head kept as bytes until its headers are asked for.
    public struct Response: Sendable {
        /// The status code.
        public var status: Int
        /// The head's bytes after the status line.
        public var head: [UInt8]
        /// The body.
        public var body: [UInt8]

        /// The headers, names lower-cased.
        public var headers: [String: String] {
            var headers: [String: String] = [:]
            for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                headers[parts[0].lowercased()] = String(parts[1].drop { $0 == " " || $0 == "\t" })
            }
            return headers
        }
    }

    private let socket: Int32
    private var received: [UInt8] = []
    private var scanned = 0

    /// Connects to `address` (with `TCP_NODELAY` over TCP).
    ///
    /// - Throws: ``BlockingHTTPError`` when the connection is refused.
    public init(_ address: Address) throws(BlockingHTTPError) {
        socket = try Self.connected(to: address)
    }

    private static func connected(to address: Address) throws(BlockingHTTPError) -> Int32 {
        switch address {
        case .tcp(let port):
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var peer = sockaddr_in()
            peer.sin_family = sa_family_t(AF_INET)
            peer.sin_port = in_port_t(UInt16(port).bigEndian)
            peer.sin_addr.s_addr = inet_addr("127.0.0.1")
            try connect(socket, to: &peer, address)
            var noDelay: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            return socket
        case .unix(let path):
            let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var peer = sockaddr_un()
            peer.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &peer.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            try connect(socket, to: &peer, address)
            return socket
        }
    }

    deinit {
        close(socket)
    }

    /// Connects `socket` to `peer`, closing it when that fails.
    private static func connect<Peer>(
        _ socket: Int32, to peer: inout Peer, _ address: Address
    ) throws(BlockingHTTPError) {
        let result = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<Peer>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw BlockingHTTPError("connect to \(address): \(reason)")
        }
    }

    /// Sends `bytes` whole (one request, or several pipelined).
    ///
    /// - Throws: ``BlockingHTTPError`` when the connection broke.
    public func send(_ bytes: [UInt8]) throws(BlockingHTTPError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw BlockingHTTPError("send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    /// Makes a read that waits `seconds` without a byte from the server throw, rather than block
    /// for ever: for tests, which must fail, not hang, when a server stays silent.
    public func limitReadWait(seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Whether the server has sent bytes, or closed the connection, within `milliseconds`: for
    /// callers that pace what they send and stop once the server answers.
    public func hasInput(waitingUpTo milliseconds: Int32) -> Bool {
        guard received.isEmpty else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Reads the next response; nil when the server closed the connection before one began.
    ///
    /// - Throws: ``BlockingHTTPError`` for a malformed response, one cut off by the close, or
    ///   past ``limitReadWait(seconds:)``.
    public func readResponse() throws(BlockingHTTPError) -> Response? {
        while true {
            if let response = try takeResponse() { return response }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(socket, &chunk, chunk.count, 0)
            guard count > 0 else {
                if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                    throw BlockingHTTPError("the server sent nothing within the read limit")
                }
                guard received.isEmpty else { throw BlockingHTTPError("the connection closed inside a response") }
                return nil
            }
            received += chunk[0..<count]
        }
    }

    /// A whole response from the bytes received, removed from them; nil until one is whole.
    private func takeResponse() throws(BlockingHTTPError) -> Response? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = received[max(0, scanned - 3)...].firstRange(of: separator) else {
            scanned = received.count
            return nil
        }
        let statusLineEnd = received[..<end.lowerBound].firstRange(of: separator[0..<2])?.lowerBound ?? end.lowerBound
        let statusLine = received[..<statusLineEnd].split(separator: UInt8(ascii: " "))
        guard statusLine.count >= 2, let status = Int(String(decoding: statusLine[1], as: UTF8.self)) else {
            throw BlockingHTTPError("a malformed status line")
        }
        let head = Array(received[statusLineEnd..<end.lowerBound])
        let length = Self.contentLength(head) ?? 0
        guard received.count - end.upperBound >= length else { return nil }
        let body = Array(received[end.upperBound..<end.upperBound + length])
        received.removeFirst(end.upperBound + length)
        scanned = 0
        return Response(status: status, head: head, body: body)
    }

    /// The value of the `Content-Length` header in `head`, matched without regard to case.
    private static func contentLength(_ head: [UInt8]) -> Int? {
        let name = Array("\r\ncontent-length:".utf8)
        var index = head.startIndex
        while index + name.count <= head.count {
            var matches = true
            for offset in 0..<name.count where lowercased(head[index + offset]) != name[offset] {
                matches = false
                break
            }
            if matches {
                var value = 0
                var digit = index + name.count
                while digit < head.count, head[digit] == UInt8(ascii: " ") { digit += 1 }
                while digit < head.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(head[digit]) {
                    value = value * 10 + Int(head[digit] - UInt8(ascii: "0"))
                    digit += 1
                }
                return value
            }
            index += 1
        }
        return nil
    }
}

/// `byte` with an ASCII capital letter made small.
private func lowercased(_ byte: UInt8) -> UInt8 {
    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
}

/// A connection that could not be made, or a response that could not be read.
public struct BlockingHTTPError: Error, Sendable, CustomStringConvertible {
    public var description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A bare HTTP/1.1 client over a real socket (TCP or Unix), so tests control the bytes on the
/// wire: several requests in one write (pipelining), any header, any body size.
public enum RawHTTP {
    /// Where to connect.
    public enum Address: Sendable {
        case tcp(port: Int)
        case unix(path: String)
    }

    /// One parsed response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        /// The body parsed as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// A request's bytes: `method path`, headers, and a body with its Content-Length.
    public static func request(
        _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:], close: Bool = false
    ) -> String {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: localhost"]
        for (name, value) in headers { lines.append("\(name): \(value)") }
        if let body { lines += ["Content-Type: application/json", "Content-Length: \(body.utf8.count)"] }
        if close { lines.append("Connection: close") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
    }

    /// Sends `requests` in one write on one connection (the last should say `close: true`),
    /// and parses every response until the server closes the connection.
    ///
    /// The blocking socket calls run on a thread of their own, never on Swift's cooperative
    /// pool, which a few blocked reads would starve on a small machine.
    public static func exchange(_ address: Address, _ requests: [String]) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingExchange(address, requests) }) }.start()
        }
    }

    private static func blockingExchange(_ address: Address, _ requests: [String]) throws -> [Response] {
        let socket = try connect(address)
        defer { close(socket) }
        let bytes = Array(requests.joined().utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw FixtureError("send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return try parse(received)
    }

    /// One request on its own connection.
    public static func send(
        _ address: Address, _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> Response {
        let request = request(method, path, body: body, headers: headers, close: true)
        guard let response = try await exchange(address, [request]).first else {
            throw FixtureError("no response to \(method) \(path)")
        }
        return response
    }

    private static func connect(_ address: Address) throws -> Int32 {
        switch address {
        case .tcp(let port):
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                throw FixtureError("connect to port \(port): \(String(cString: strerror(errno)))")
            }
            return socket
        case .unix(let path):
            let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { throw FixtureError("connect to \(path): \(String(cString: strerror(errno)))") }
            return socket
        }
    }

    /// Splits a byte stream into responses by their Content-Length.
    private static func parse(_ bytes: [UInt8]) throws -> [Response] {
        var responses: [Response] = []
        var rest = bytes[...]
        let separator = Array("\r\n\r\n".utf8)
        while !rest.isEmpty {
            guard let end = rest.firstRange(of: separator) else { throw FixtureError("a response without headers end") }
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
            guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ")[1]) else {
                throw FixtureError("a malformed status line")
            }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyEnd = rest.index(end.upperBound, offsetBy: length, limitedBy: rest.endIndex) ?? rest.endIndex
            responses.append(
                Response(
                    status: status, headers: headers,
                    body: String(decoding: rest[end.upperBound..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return responses
    }
}

import BlockingHTTP
import Foundation

/// A bare HTTP/1.1 client over a real socket (TCP or Unix), so tests control the bytes on the
/// wire: several requests in one write (pipelining), any header, any body size. The connection
/// is `bench`'s own (``BlockingHTTPConnection``).
public enum RawHTTP {
    /// Where to connect.
    public typealias Address = BlockingHTTPConnection.Address

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

    /// How long a test waits for a silent server before it fails rather than hang.
    private static let readLimitSeconds = 120

    private static func blockingExchange(_ address: Address, _ requests: [String]) throws -> [Response] {
        let connection = try BlockingHTTPConnection(address)
        connection.limitReadWait(seconds: readLimitSeconds)
        try connection.send(Array(requests.joined().utf8))
        return try responses(until: connection)
    }

    /// Every response on `connection` until the server closes it.
    private static func responses(until connection: BlockingHTTPConnection) throws -> [Response] {
        var responses: [Response] = []
        while let response = try connection.readResponse() {
            responses.append(
                Response(
                    status: response.status, headers: response.headers,
                    body: String(decoding: response.body, as: UTF8.self)))
        }
        return responses
    }

    /// Sends `opening`, then `byte` again and again, a tenth of a second apart (a slow client's
    /// head or body that never ends), until the server sends something or closes; returns its
    /// responses until it closes the connection.
    ///
    /// - Throws: ``FixtureError`` when the server lets it go on for `readLimitSeconds`.
    public static func trickle(_ address: Address, _ opening: String, _ byte: Character) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        let connection = try BlockingHTTPConnection(address)
                        connection.limitReadWait(seconds: readLimitSeconds)
                        try connection.send(Array(opening.utf8))
                        let end = ContinuousClock.now + .seconds(readLimitSeconds)
                        while !connection.hasInput(waitingUpTo: 100) {
                            guard ContinuousClock.now < end else {
                                throw FixtureError("the server let a client trickle for \(readLimitSeconds) s")
                            }
                            // A send that fails has met the server's close: its answer is read below.
                            guard (try? connection.send(Array(String(byte).utf8))) != nil else { break }
                        }
                        return try responses(until: connection)
                    })
            }.start()
        }
    }

    /// Whether a connection to `address` is accepted now (not refused).
    public static func accepts(_ address: Address) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: (try? BlockingHTTPConnection(address)) != nil) }.start()
        }
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
}

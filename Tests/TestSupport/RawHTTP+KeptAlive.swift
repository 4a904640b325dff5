import BlockingHTTP
import Foundation

extension RawHTTP {
    /// Sends the requests `next` makes (given how many were answered so far; nil to stop) one
    /// after another, as a kept-alive client such as wrk or a load balancer does: each as soon
    /// as the previous one is answered, on the same connection until the server answers
    /// `Connection: close`, then on a new one. Returns every response in order.
    ///
    /// - Throws: ``FixtureError`` naming the request when the server closes or resets the
    ///   connection without answering it (such a client counts that request failed).
    public static func keptAlive(_ address: Address, _ next: @escaping @Sendable (Int) -> String?) async throws
        -> [Response]
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingKeptAlive(address, next) }) }.start()
        }
    }

    /// Opens `count` connections at once, and only then sends `request` on each (kept alive: it
    /// must not say `Connection: close`); returns each connection's response, in order, once every
    /// one has been answered with all the connections still open.
    public static func openedAtOnce(_ address: Address, count: Int, _ request: String) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        let connections = try (0..<count).map { _ in try BlockingHTTPConnection(address) }
                        for connection in connections {
                            connection.limitReadWait(seconds: 120)
                            try connection.send(Array(request.utf8))
                        }
                        return try connections.enumerated().map { index, connection in
                            guard let answer = try connection.readResponse() else {
                                throw FixtureError("connection \(index + 1) closed without an answer")
                            }
                            return Response(
                                status: answer.status, headers: answer.headers,
                                body: String(decoding: answer.body, as: UTF8.self))
                        }
                    })
            }.start()
        }
    }

    private static func blockingKeptAlive(_ address: Address, _ next: (Int) -> String?) throws -> [Response] {
        var responses: [Response] = []
        var connection: BlockingHTTPConnection?
        while let request = next(responses.count) {
            let open = try connection ?? BlockingHTTPConnection(address)
            open.limitReadWait(seconds: 120)
            connection = open
            let answer: BlockingHTTPConnection.Response?
            do {
                try open.send(Array(request.utf8))
                answer = try open.readResponse()
            } catch {
                throw FixtureError("request \(responses.count + 1) on a kept-alive connection failed: \(error)")
            }
            guard let answer else {
                throw FixtureError(
                    "request \(responses.count + 1): the server closed a kept-alive connection without answering it")
            }
            let response = Response(
                status: answer.status, headers: answer.headers, body: String(decoding: answer.body, as: UTF8.self))
            responses.append(response)
            if response.headers["connection"]?.lowercased() == "close" { connection = nil }
        }
        return responses
    }
}

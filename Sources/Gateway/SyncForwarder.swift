import AsyncHTTPClient
import Foundation
import NIOCore

/// Forwards `task_sync` requests to a sync endpoint's workers: `POST /predict` over their Unix
/// sockets, on AsyncHTTPClient's pool of kept-alive connections.
struct SyncForwarder: Sendable {
    let client: HTTPClient

    /// Sends `body` to the worker at `socket` and returns its status and JSON body.
    ///
    /// - Throws: ``GatewayRefusal`` 502 when the worker cannot be reached or answers nothing.
    func predict(_ body: ByteBuffer, socket: URL) async throws(GatewayRefusal) -> (status: Int, body: Data) {
        guard let url = URL(httpURLWithSocketPath: socket.path, uri: "/predict") else {
            throw GatewayRefusal(.internalServerError, "cannot address the worker socket \(socket.path)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: .hours(1))
            let answer = try await response.body.collect(upTo: 1 << 30)
            return (Int(response.status.code), Data(answer.readableBytesView))
        } catch {
            throw GatewayRefusal(.badGateway, "the endpoint's worker did not answer: \(error); try again")
        }
    }
}

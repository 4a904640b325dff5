import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request the gateway answers with an error status and `{"detail": "..."}` saying what to do.
struct GatewayRefusal: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    var status: HTTPResponse.Status
    /// What went wrong and how to fix it.
    var detail: String

    var description: String { detail }

    init(_ status: HTTPResponse.Status, _ detail: String) {
        self.status = status
        self.detail = detail
    }

    /// 404 for something this API key does not own (absent, or another key's: the same answer).
    static func notFound(_ what: String) -> GatewayRefusal {
        GatewayRefusal(.notFound, "\(what) does not exist")
    }

    /// The refusal as Hummingbird's response.
    var response: Response {
        var answer = JSONAnswer.response(["detail": detail], status: status)
        if status == .unauthorized { answer.headers[.wwwAuthenticate] = "Basic realm=\"launch-worker gateway\"" }
        return answer
    }
}

/// JSON bodies in and out of the gateway's routes.
enum JSONAnswer {
    /// `object` as a JSON response with `status`.
    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        response(bytes: data(object), status: status)
    }

    /// JSON bytes as a response with `status`.
    static func response(bytes: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `object` as JSON bytes, keys sorted.
    static func data(_ object: Any) -> Data {
        // Objects built from JSON and Swift strings and numbers always serialise.
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// Runs a route's work, answering a ``GatewayRefusal`` as its JSON error.
    static func answering(_ work: () async throws -> Response) async -> Response {
        do {
            return try await work()
        } catch let refusal as GatewayRefusal {
            return refusal.response
        } catch {
            return GatewayRefusal(.internalServerError, "the gateway failed: \(error)").response
        }
    }

    /// The request's JSON object: `{}` for an empty body (the client sends a body on every
    /// method, but other clients may not).
    static func object(of request: Request, limit: Int = 100 << 20) async throws -> [String: Any] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayRefusal(.contentTooLarge, "the request body is over \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        else {
            throw GatewayRefusal(.badRequest, "the request body must be a JSON object")
        }
        return object
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import JSONBytes
import NIOCore
import Synchronization
import WorkerCore

/// One answer of the endpoint: a status, its headers and a JSON (or text) body, written either
/// by Hummingbird (as a `Response`) or by ``InterceptingHandler`` straight on the event loop.
struct Answer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    /// `body` as JSON with `code`.
    init(json code: Int, _ body: ByteBuffer) {
        status = HTTPResponse.Status(code: code)
        headers = [.contentType: "application/json"]
        self.body = body
    }

    /// `{"detail": "..."}` with `code`.
    init(_ code: Int, detail: String) {
        self.init(json: code, ByteBuffer(string: JSONText.object(["detail": detail])))
    }

    /// `{"detail": {"traceback": "..."}}` with `code`, as llm-engine answers a predict error.
    init(_ code: Int, traceback: String) {
        self.init(json: code, ByteBuffer(string: "{\"detail\":\(JSONText.object(["traceback": traceback]))}"))
    }

    /// The answer for Hummingbird to write.
    var response: Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The answer as ``InterceptingHandler`` writes it.
    var intercepted: InterceptedAnswer {
        InterceptedAnswer(status: status, headerFields: headers, body: body)
    }

    /// The response head as Hummingbird would write it (`Content-Length`, `Date`, `Server`),
    /// saying `Connection: close` when the connection closes after it.
    func head(closing: Bool) -> HTTPResponse {
        intercepted.head(server: HTTPServer.serverName, closing: closing)
    }
}

/// The `Date` header's text (RFC 9110's IMF-fixdate), formatted once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Tue, 25 Nov 2026 15:30:00 GMT` for the current second.
    static var now: String {
        var seconds = time(nil)
        return cache.withLock { cache in
            guard cache.second != seconds else { return cache.text }
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            cache = (
                seconds,
                "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) "
                    + "\(1900 + parts.tm_year) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
            )
            return cache.text
        }
    }
}

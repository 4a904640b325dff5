import HTTPTypes
import NIOCore

/// Which requests an ``InterceptingHandler`` answers itself, and how: the worker's `/predict`
/// (``PredictInterceptor``), the gateway's `task_sync`. One value per connection, so it may keep
/// what it learns of the connection (a key checked once) and of the request it took.
///
/// No associated types: the handler holds its interceptor as an existential, so its code is
/// compiled once, not left generic for another module to run unspecialized (which looked up
/// generic metadata on every request).
public protocol RequestInterceptor {
    /// The `Server` header of its answers, which then say their `Date` too, as Hummingbird's
    /// responses do; nil for neither (the gateway's `task_sync`, whose every header costs).
    var serverName: String? { get }

    /// The largest body read; a larger one reaches ``respond(to:body:on:deliver:)`` as
    /// `.tooLarge`.
    var maxBodyBytes: Int { get }

    /// How long a graceful stop leaves an idle connection open for a request its client may have
    /// sent already, which is then answered with `Connection: close` (a pool's worker process,
    /// whose siblings serve the client's next connection); nil closes idle connections at once.
    var idleGraceOnQuiesce: TimeAmount? { get }

    /// Whether to answer this request here (else Hummingbird's router does); what the head
    /// says is kept for ``respond(to:body:on:deliver:)``, which follows when the body is read.
    mutating func takes(_ head: HTTPRequest) -> Bool

    /// Whether the head declares a body over the limit: the request is then answered (its body
    /// `.tooLarge`) before the body is read, and the connection closes after the answer.
    func declaresTooLarge(_ head: HTTPRequest) -> Bool

    /// Answers the request taken, read whole: at once, or later by calling `deliver` once, from
    /// any thread; `.passOn` gives it to Hummingbird's router after all.
    mutating func respond(
        to head: HTTPRequest, body: InterceptedBody, on eventLoop: any EventLoop,
        deliver: @escaping @Sendable (InterceptedAnswer) -> Void
    ) -> InterceptOutcome
}

/// An answer an ``InterceptingHandler`` writes on the event loop, which adds the head's
/// `Content-Length`, `Date` and `Server` (when the interceptor names a server) and, when the
/// connection closes after it, `Connection` (there, not on the thread that made the answer:
/// the date's cache is shared).
public struct InterceptedAnswer: Sendable {
    /// The response's status.
    public var status: HTTPResponse.Status
    /// The response's own header fields (its `Content-Type`).
    public var headerFields: HTTPFields
    /// The response's body.
    public var body: ByteBuffer

    /// An answer of `status`, `headerFields` and `body`.
    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: ByteBuffer) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The response head as Hummingbird would write it, from `server` (with the date), saying
    /// `Connection: close` when the connection closes after it.
    func head(server: String?, closing: Bool) -> HTTPResponse {
        var fields = headerFields
        fields[.contentLength] = String(body.readableBytes)
        if let server {
            fields[.date] = HTTPDate.now
            fields[.server] = server
        }
        if closing { fields[.connection] = "close" }
        return HTTPResponse(status: status, headerFields: fields)
    }
}

/// A request's body as an ``InterceptingHandler`` read it.
public enum InterceptedBody: Sendable {
    /// The whole body (empty when there was none).
    case read(ByteBuffer)
    /// Over ``RequestInterceptor/maxBodyBytes``: not kept.
    case tooLarge
}

/// What a ``RequestInterceptor`` does with a request it took.
public enum InterceptOutcome: Sendable {
    /// Answered now.
    case answer(InterceptedAnswer)
    /// Answered later, through the `deliver` it was given.
    case pending
    /// Not answered here after all: Hummingbird's router takes it, as if never taken.
    case passOn
}

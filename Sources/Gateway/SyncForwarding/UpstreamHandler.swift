import NIOCore
import NIOHTTP1

/// A worker's answer to one forwarded request.
struct UpstreamAnswer: Sendable {
    /// Its HTTP status.
    var status: Int
    /// Its body (JSON).
    var body: ByteBuffer
    /// Whether the connection may carry another request (the worker did not say `close`).
    var reusable: Bool
}

/// Why a forwarded request got no answer.
enum UpstreamFailure: Error, CustomStringConvertible {
    /// The worker's socket could not be connected to (the worker stopped or died).
    case unreachable(String)
    /// The connection closed before any of the answer came (a kept-alive connection the worker
    /// closed, or a worker that died): the request may be sent again on a new one.
    case closedBeforeAnswer
    /// The connection closed or failed in the middle of the answer.
    case broken(String)

    var description: String {
        switch self {
        case .unreachable(let reason): "cannot connect to the worker: \(reason)"
        case .closedBeforeAnswer: "the worker closed the connection before answering"
        case .broken(let reason): "the worker's answer broke off: \(reason)"
        }
    }
}

/// A request for ``UpstreamHandler``: the `/predict` body and where its answer goes.
struct UpstreamRequest: Sendable {
    var body: ByteBuffer
    var answer: EventLoopPromise<UpstreamAnswer>
}

/// The end of a connection to a worker: writes one ``UpstreamRequest`` as `POST /predict`, reads
/// the answer and completes the request's promise, one request at a time.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = UpstreamRequest
    typealias OutboundOut = HTTPClientRequestPart

    /// Every request's head but its length, made once.
    private static let head = HTTPRequestHead(
        version: .http1_1, method: .POST, uri: "/predict",
        headers: ["Host": "localhost", "Content-Type": "application/json"])

    private var pending: EventLoopPromise<UpstreamAnswer>?
    private var status = 0
    private var reusable = true
    private var body: ByteBuffer?
    private var answering = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        pending = request.answer
        (status, reusable, body, answering) = (0, true, nil, false)
        var head = Self.head
        head.headers.add(name: "Content-Length", value: String(request.body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answering = true
            status = Int(head.status.code)
            reusable = head.isKeepAlive
        case .body(var chunk):
            if body == nil {
                body = chunk
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            let answer = UpstreamAnswer(status: status, body: body ?? ByteBuffer(), reusable: reusable)
            body = nil
            answering = false
            let promise = pending
            pending = nil
            promise?.succeed(answer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(answering ? .broken("the connection closed") : .closedBeforeAnswer)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(answering ? .broken("\(error)") : .closedBeforeAnswer)
        context.close(promise: nil)
    }

    private func fail(_ failure: UpstreamFailure) {
        let promise = pending
        pending = nil
        promise?.fail(failure)
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}

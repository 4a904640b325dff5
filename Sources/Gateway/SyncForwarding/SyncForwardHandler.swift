import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /task_sync/{endpoint}` on the connection's NIO event loop, in Hummingbird's
/// HTTP/1 pipeline after the HTTP codec: it checks the key, finds the endpoint's ready worker
/// in its ``SyncDispatch``, forwards the body to the worker's `/predict` on a kept-alive
/// connection of the same loop (``UpstreamPool``) and writes the answer in the client's shape.
/// No Swift task, actor or other thread takes part: each hop between threads cost tens of
/// microseconds, and the gateway's overhead is what a user pays on every sync request.
///
/// Every other request is passed on to Hummingbird's router, and so is a `task_sync` this
/// handler cannot forward at once (no key, an unknown or async endpoint, no worker ready yet):
/// the router's route answers it, waiting for a worker when the endpoint is starting.
///
/// Responses leave in the order requests came: a `task_sync` is answered here only when every
/// request passed on before it has been answered, and while one is being answered, what arrives
/// after it waits here (reads stop while it waits). Graceful shutdown's quiesce event waits
/// likewise, so an answer in flight is written before the connection closes.
final class SyncForwardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Passing a request's parts on to Hummingbird, up to its end.
        case passing
        /// Reading the body of a `task_sync` of ours.
        case reading
        /// Waiting for the worker's answer to a request of ours.
        case answering
        /// The connection closes: requests are dropped.
        case closed
    }

    /// Input that arrived while a request of ours was being answered.
    private enum Input {
        case part(HTTPRequestPart)
        case event(Any)
        case error(any Error)
    }

    /// A `task_sync` of ours as its body arrives.
    private struct Reading {
        var head: HTTPRequest
        var route: SyncRoutes.Route
        var body: ByteBuffer?
        var tooLarge = false
    }

    private let forwarding: SyncForwarding
    private var owners = SyncForwarding.OwnerCache()
    private var state = State.idle
    private var reading: Reading?
    private var held = CircularBuffer<Input>()
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    private var readHeld = false
    private var quiesceHeld = false
    private var draining = false
    /// The handler's place in the pipeline while it is there: where answers are written.
    private var context: ChannelHandlerContext?

    init(forwarding: SyncForwarding) {
        self.forwarding = forwarding
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard state != .answering, held.isEmpty else {
            held.append(.part(part))
            return
        }
        handle(part, context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, state == .reading || state == .answering || !held.isEmpty {
            quiesceHeld = true
        } else if state == .answering || !held.isEmpty {
            held.append(.event(event))
        } else {
            handle(event: event, context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard state != .answering, held.isEmpty else {
            held.append(.error(error))
            return
        }
        handle(error: error, context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        held.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Outbound

    /// Holds reads while input waits, so a client pipelining many requests fills its socket,
    /// not the gateway's memory.
    func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// A response from Hummingbird: its end answers one of the requests passed on.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), passedOn > 0 { passedOn -= 1 }
        context.write(data, promise: promise)
    }

    // MARK: Requests

    private func handle(_ part: HTTPRequestPart, _ context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if passedOn == 0, let route = forwarding.route(for: head, owners: &owners) {
                state = .reading
                reading = Reading(head: head, route: route)
            } else {
                passOn(part, context)
            }
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        case (.reading, .body(let chunk)):
            append(chunk)
        case (.reading, .end):
            forward(context)
        case (.closed, _):
            break
        default:
            // A part out of place (the codec never sends one): Hummingbird refuses it.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func passOn(_ head: HTTPRequestPart, _ context: ChannelHandlerContext) {
        passedOn += 1
        state = .passing
        context.fireChannelRead(wrapInboundOut(head))
    }

    private func handle(event: Any, _ context: ChannelHandlerContext) {
        // An input closed before the body ended leaves the request unanswerable.
        if state == .reading, case .inputClosed? = event as? ChannelEvent { close() }
        context.fireUserInboundEventTriggered(event)
    }

    private func handle(error: any Error, _ context: ChannelHandlerContext) {
        // A broken request: Hummingbird answers 400 to a parse error and closes.
        if state == .reading { close() }
        context.fireErrorCaught(error)
    }

    private func append(_ chunk: ByteBuffer) {
        guard var request = reading, !request.tooLarge else { return }
        reading = nil  // so the buffer below is not shared while it grows
        if (request.body?.readableBytes ?? 0) + chunk.readableBytes > SyncForwarding.maxBodyBytes {
            request.tooLarge = true
            request.body = nil
        } else if request.body == nil {
            request.body = chunk
        } else {
            request.body?.writeImmutableBuffer(chunk)
        }
        reading = request
    }

    /// Forwards the request read to a ready worker and answers it when the worker has; with no
    /// worker ready now (one retired or died since the head came), the router's route takes it.
    private func forward(_ context: ChannelHandlerContext) {
        guard let request = reading else { return }
        reading = nil
        let closing = Self.wantsClose(request.head)
        state = .answering
        if request.tooLarge {
            write(forwarding.tooLarge(), closing: closing, context)
            return
        }
        guard let lease = request.route.dispatch.acquire() else {
            replay(request, context)
            return
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let forwarding = forwarding
        forwarding.forward(
            request.body ?? ByteBuffer(), via: request.route.dispatch, lease: lease, on: context.eventLoop
        )
        .whenComplete { result in
            let answer = forwarding.answer(result, route: request.route, head: request.head)
            handler.value.deliver(answer, closing: closing)
        }
    }

    /// Passes a request read here on to the router, as if it had been passed on from its head.
    private func replay(_ request: Reading, _ context: ChannelHandlerContext) {
        state = .idle
        passedOn += 1
        context.fireChannelRead(wrapInboundOut(.head(request.head)))
        if let body = request.body { context.fireChannelRead(wrapInboundOut(.body(body))) }
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        context.fireChannelReadComplete()
        drain(context)
    }

    /// Writes an answer that comes back from the worker.
    private func deliver(_ answer: SyncForwarding.Answer, closing: Bool) {
        guard let context else { return }  // the handler left the pipeline: the connection closed
        write(answer, closing: closing, context)
    }

    /// Writes the answer to the request of ours, then takes the input that waited. While the
    /// server shuts down, the answer after which nothing waits closes the connection and says so.
    private func write(_ answer: SyncForwarding.Answer, closing: Bool, _ context: ChannelHandlerContext) {
        guard state == .answering else { return }  // the connection closed meanwhile
        forwarding.metrics.answered(route: SyncForwarding.routeLabel, code: answer.status.code)
        let closing = closing || (quiesceHeld && held.isEmpty)
        context.write(wrapOutboundOut(.head(answer.head(closing: closing))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        if closing {
            close()
            // As Hummingbird does: close the output once written; the client's close ends the rest.
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
                self.releaseQuiesce(context)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            state = .idle
        }
        drain(context)
    }

    /// Takes the input that waited, in order, until a request of ours must be answered again;
    /// then lets reads, and a graceful shutdown's quiesce, go on once nothing waits.
    private func drain(_ context: ChannelHandlerContext) {
        guard !draining else { return }  // an answer written while draining: the loop goes on
        draining = true
        defer { draining = false }
        var took = false
        while state != .answering, state != .closed, let input = held.popFirst() {
            took = true
            switch input {
            case .part(let part): handle(part, context)
            case .event(let event): handle(event: event, context)
            case .error(let error): handle(error: error, context)
            }
        }
        // NIOAsyncChannel hands reads to Hummingbird at the end of a read.
        if took { context.fireChannelReadComplete() }
        guard held.isEmpty, state != .answering else { return }
        if readHeld {
            readHeld = false
            context.read()
        }
        if state != .reading, state != .closed { releaseQuiesce(context) }
    }

    private func releaseQuiesce(_ context: ChannelHandlerContext) {
        guard quiesceHeld else { return }
        quiesceHeld = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    /// Takes no more requests on this connection.
    private func close() {
        state = .closed
        reading = nil
        held.removeAll()
    }

    /// Whether the request says `Connection: close`.
    private static func wantsClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }
}

@available(*, unavailable)
extension SyncForwardHandler: Sendable {}

import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers the requests its ``RequestInterceptor`` takes (the worker's `/predict`, the gateway's
/// `task_sync`) on the connection's NIO event loop, in Hummingbird's HTTP/1 pipeline after the
/// HTTP codec: it reads the body (`.tooLarge` over the interceptor's limit), has the interceptor
/// answer it, and writes the answer, at once or when the interceptor delivers it. No Swift task
/// of Hummingbird's and no thread of the cooperative pool take part: for a trivial predict the
/// pool alone had taken a third of the machine's time. Every other request is passed on to
/// Hummingbird's router.
///
/// Responses leave in the order requests came: a request is taken here only when every request
/// passed on before it has been answered (otherwise it is passed on too, and the router's route
/// answers it), and while a request taken here is being answered, what arrives after it waits
/// here (reads stop while it waits). Graceful shutdown's quiesce event and a half-closed input
/// wait likewise, so an answer in flight is written before the connection closes.
///
/// With ``RequestInterceptor/idleGraceOnQuiesce`` (a pool's worker process), a quiesce that finds
/// the connection idle does not close it at once: a kept-alive client has often sent its next
/// request already, and closing would fail it although a sibling process could have served it.
/// The connection waits that grace for a request; one that arrives is answered with
/// `Connection: close` (the client reconnects, to a sibling), and the connection closes only when
/// none came.
public final class InterceptingHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private enum State: Equatable {
        /// Between requests.
        case idle
        /// Passing a request's parts on to Hummingbird, up to its end.
        case passing
        /// Reading the body of a request taken here.
        case reading
        /// Waiting for the answer to a request taken here.
        case answering
        /// The connection closes: requests are dropped.
        case closed
    }

    /// Input that arrived while a request taken here was being answered.
    private enum Input {
        case part(HTTPRequestPart)
        case event(Any)
        case error(any Error)
    }

    /// A request taken here as its body arrives.
    private struct Reading {
        var head: HTTPRequest
        var body: ByteBuffer?
        var tooLarge = false
    }

    private var interceptor: any RequestInterceptor
    private var state = State.idle
    private var reading: Reading?
    private var held = CircularBuffer<Input>()
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    private var readHeld = false
    private var quiesceHeld = false
    /// Whether the quiesce went on to Hummingbird, which closes the connection once its last
    /// response is written: that response says `Connection: close`.
    private var quiesceForwarded = false
    private var draining = false

    /// The handler's place in the pipeline, while it is there: where answers delivered later
    /// are written.
    private var context: ChannelHandlerContext?

    /// A handler for one connection, taking the requests `interceptor` takes.
    public init(interceptor: any RequestInterceptor) {
        self.interceptor = interceptor
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard state != .answering, held.isEmpty else {
            held.append(.part(part))
            return
        }
        handle(part, context)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, state == .reading || state == .answering || !held.isEmpty {
            quiesceHeld = true
        } else if event is ChannelShouldQuiesceEvent, state == .idle, passedOn == 0,
            let grace = interceptor.idleGraceOnQuiesce
        {
            quiesceHeld = true
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: grace) { handler.value.closeIfStillIdle() }
        } else if state == .answering || !held.isEmpty {
            held.append(.event(event))
        } else {
            handle(event: event, context)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard state != .answering, held.isEmpty else {
            held.append(.error(error))
            return
        }
        handle(error: error, context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        held.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Outbound

    /// Holds reads while input waits, so a client pipelining many requests fills its socket,
    /// not this process's memory.
    public func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// A response from Hummingbird: its end answers one of the requests passed on. The last one
    /// before Hummingbird closes a quiesced connection says so.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where quiesceForwarded && passedOn == 1 && held.isEmpty && state != .reading:
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            if passedOn > 0 { passedOn -= 1 }
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    // MARK: Requests

    private func handle(_ part: HTTPRequestPart, _ context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if passedOn == 0, interceptor.takes(head) {
                state = .reading
                reading = Reading(head: head)
                // A body declared over the limit is refused before it is read, and the connection
                // closes: the body would follow.
                if interceptor.declaresTooLarge(head) {
                    reading?.tooLarge = true
                    respond(context, beforeBody: true)
                }
                return
            }
            passedOn += 1
            state = .passing
            context.fireChannelRead(wrapInboundOut(part))
            // Held for a grace, the quiesce goes on with the request: Hummingbird closes after it.
            releaseQuiesce(context)
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        case (.reading, .body(let chunk)):
            append(chunk)
        case (.reading, .end):
            respond(context)
        case (.closed, _):
            break
        default:
            // A part out of place (the codec never sends one): Hummingbird refuses it.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func handle(event: Any, _ context: ChannelHandlerContext) {
        // An input closed before the body ended leaves the request unanswerable.
        if state == .reading, case .inputClosed? = event as? ChannelEvent { close() }
        if event is ChannelShouldQuiesceEvent { quiesceForwarded = true }
        context.fireUserInboundEventTriggered(event)
    }

    /// Ends an idle connection's grace after a quiesce: closes it unless a request came.
    private func closeIfStillIdle() {
        guard let context, quiesceHeld, state == .idle, held.isEmpty, passedOn == 0 else { return }
        releaseQuiesce(context)
    }

    private func handle(error: any Error, _ context: ChannelHandlerContext) {
        // A broken request: Hummingbird answers 400 to a parse error and closes.
        if state == .reading { close() }
        context.fireErrorCaught(error)
    }

    private func append(_ chunk: ByteBuffer) {
        guard var request = reading, !request.tooLarge else { return }
        reading = nil  // so the buffer below is not shared while it grows
        if (request.body?.readableBytes ?? 0) + chunk.readableBytes > interceptor.maxBodyBytes {
            request.tooLarge = true
            request.body = nil
        } else if request.body == nil {
            request.body = chunk
        } else {
            request.body?.writeImmutableBuffer(chunk)
        }
        reading = request
    }

    /// Has the interceptor answer the request read (or, `beforeBody`, its head), and writes its
    /// answer when it has one; passes the request on when the interceptor does.
    private func respond(_ context: ChannelHandlerContext, beforeBody: Bool = false) {
        guard let request = reading else { return }
        reading = nil
        state = .answering
        let closing = beforeBody || Self.wantsClose(request.head)
        let body: InterceptedBody = request.tooLarge ? .tooLarge : .read(request.body ?? ByteBuffer())
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let deliver: @Sendable (InterceptedAnswer) -> Void = { answer in
            if eventLoop.inEventLoop {
                handler.value.deliver(answer, closing: closing)
            } else {
                eventLoop.execute { handler.value.deliver(answer, closing: closing) }
            }
        }
        switch interceptor.respond(to: request.head, body: body, on: eventLoop, deliver: deliver)
        {
        case .answer(let answer): write(answer, closing: closing, context)
        case .pending: break
        case .passOn: replay(request, context)
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

    /// Writes an answer the interceptor delivers later.
    private func deliver(_ answer: InterceptedAnswer, closing: Bool) {
        guard let context else { return }  // the handler left the pipeline: the connection closed
        write(answer, closing: closing, context)
    }

    /// Writes the answer to the request taken here, then takes the input that waited. While the
    /// server shuts down, the answer after which nothing waits closes the connection and says so.
    private func write(_ answer: InterceptedAnswer, closing: Bool, _ context: ChannelHandlerContext) {
        guard state == .answering else { return }  // the connection closed meanwhile
        let closing = closing || quiesceForwarded || (quiesceHeld && held.isEmpty)
        context.write(
            wrapOutboundOut(.head(answer.head(server: interceptor.serverName, closing: closing))), promise: nil)
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

    /// Takes the input that waited, in order, until a request taken here must be answered again;
    /// then lets reads, and a graceful shutdown's quiesce, go on once nothing waits (also once
    /// the connection closes: its reads see the client's close).
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
        // A connection closing passes it on once its last answer is written.
        if state != .reading, state != .closed { releaseQuiesce(context) }
    }

    private func releaseQuiesce(_ context: ChannelHandlerContext) {
        guard quiesceHeld else { return }
        quiesceHeld = false
        quiesceForwarded = true
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
extension InterceptingHandler: Sendable {}

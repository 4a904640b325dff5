import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /predict` on the connection's NIO event loop, in Hummingbird's HTTP/1 pipeline
/// after the HTTP codec: it reads the body (413 over the limit), has ``PredictEndpoint`` admit
/// the request, starts its predict in a task on the slot's thread, and writes the answer when
/// that task hands it back with `eventLoop.execute`. No Swift task of Hummingbird's and no
/// thread of the cooperative pool take part: for a trivial predict the pool alone had taken a
/// third of the machine's time. Every other request is passed on to Hummingbird's router.
///
/// Responses leave in the order requests came: a `/predict` is answered here only when every
/// request passed on before it has been answered (otherwise it is passed on too, and the
/// router's `/predict` route answers it), and while a request of ours is being answered, what
/// arrives after it waits here (reads stop while it waits). Graceful shutdown's quiesce event
/// and a half-closed input wait likewise, so an answer in flight is written before the
/// connection closes.
///
/// In a pool's worker process (``PredictEndpoint/idleGraceOnQuiesce``), a quiesce that finds the
/// connection idle does not close it at once: a kept-alive client has often sent its next request
/// already, and closing would fail it although a sibling process could have served it. The
/// connection waits that grace for a request; one that arrives is answered with
/// `Connection: close` (the client reconnects, to a sibling), and the connection closes only when
/// none came.
final class PredictChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State: Equatable {
        /// Between requests.
        case idle
        /// Passing a request's parts on to Hummingbird, up to its end.
        case passing
        /// Reading the body of a `/predict` request of ours.
        case reading
        /// Waiting for the answer to a request of ours.
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

    /// A `/predict` request of ours as its body arrives.
    private struct Reading {
        var head: HTTPRequest
        var body: ByteBuffer?
        var tooLarge = false
    }

    private let endpoint: PredictEndpoint
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

    /// The handler's place in the pipeline, while it is there: where answers from predict
    /// tasks are written.
    private var context: ChannelHandlerContext?

    init(endpoint: PredictEndpoint) {
        self.endpoint = endpoint
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
        } else if event is ChannelShouldQuiesceEvent, state == .idle, passedOn == 0,
            let grace = endpoint.idleGraceOnQuiesce
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
    /// not this process's memory.
    func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// A response from Hummingbird: its end answers one of the requests passed on. The last one
    /// before Hummingbird closes a quiesced connection says so.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
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
        case (.idle, .head(let head)) where passedOn == 0 && Self.isPredict(head):
            state = .reading
            reading = Reading(head: head)
            // A body declared over the limit is refused before it is read, and the connection
            // closes: the body would follow.
            if endpoint.declaresTooLarge(head.headerFields) {
                reading?.tooLarge = true
                answer(context, beforeBody: true)
            }
        case (.idle, .head):
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
            answer(context)
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
        if (request.body?.readableBytes ?? 0) + chunk.readableBytes > endpoint.configuration.maxBodyBytes {
            request.tooLarge = true
            request.body = nil
        } else if request.body == nil {
            request.body = chunk
        } else {
            request.body?.writeImmutableBuffer(chunk)
        }
        reading = request
    }

    /// Admits the request read (or, `beforeBody`, its head) and answers it: at once, or when its
    /// predict has run.
    private func answer(_ context: ChannelHandlerContext, beforeBody: Bool = false) {
        guard let request = reading else { return }
        reading = nil
        state = .answering
        let closing = beforeBody || Self.wantsClose(request.head)
        let body: PredictEndpoint.RequestBody = request.tooLarge ? .tooLarge : .read(request.body ?? ByteBuffer())
        switch endpoint.admit(authorization: request.head.headerFields[.authorization], body: body) {
        case .answered(let answer):
            endpoint.counted(answer)
            write(answer, closing: closing, context)
        case .admitted(let work):
            let endpoint = endpoint
            let eventLoop = context.eventLoop
            let handler = NIOLoopBound(self, eventLoop: eventLoop)
            // The first answer goes out: the predict's, or a 504 given early by the task timeout.
            let first = FirstAnswer()
            let give: @Sendable (Answer) -> Void = { answer in
                guard first.claim() else { return }
                endpoint.counted(answer)
                eventLoop.execute { handler.value.deliver(answer, closing: closing) }
            }
            endpoint.inFlight.start(on: work.preferredExecutor) {
                give(await endpoint.perform(work, answerEarly: give))
            }
        }
    }

    /// Writes an answer that comes back from its predict's task.
    private func deliver(_ answer: Answer, closing: Bool) {
        guard let context else { return }  // the handler left the pipeline: the connection closed
        write(answer, closing: closing, context)
    }

    /// Writes the answer to the request of ours, then takes the input that waited. While the
    /// server shuts down, the answer after which nothing waits closes the connection and says so.
    private func write(_ answer: Answer, closing: Bool, _ context: ChannelHandlerContext) {
        guard state == .answering else { return }  // the connection closed meanwhile
        let closing = closing || quiesceForwarded || (quiesceHeld && held.isEmpty)
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

    /// `POST /predict` (with or without a query); other spellings go to the router.
    private static func isPredict(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, let path = head.path else { return false }
        return path == "/predict" || path.hasPrefix("/predict?")
    }

    /// Whether the request says `Connection: close`.
    private static func wantsClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }
}

@available(*, unavailable)
extension PredictChannelHandler: Sendable {}

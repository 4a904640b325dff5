import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import WorkerCore

/// Closes a connection whose client keeps the server waiting: a request head not whole within
/// `--header-timeout` of its first byte (a 408 first), a body not whole within `--body-timeout`
/// of its head (a 408 first, if no answer to that request has begun), no next request within
/// `--idle-timeout` of the last answer (closed quietly, as an idle connection may be; so is a
/// connection that sends nothing within `--header-timeout` of opening). Each is
/// counted in `launch_worker_http_timeouts_total{kind}`. ``ConnectionDeadlines`` decides; this
/// handler feeds it and keeps one timer per connection on its event loop.
///
/// It comes first after the HTTP codec in each connection's pipeline, so it sees every request
/// part as decoded and every response part on its way out, whoever answers (Hummingbird's router
/// or ``InterceptingHandler``). A read that decodes no part means a request head has begun:
/// the codec passes on each read's end even when it holds the bytes.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let configuration: HTTPServer.Configuration
    private let metrics: HTTPMetrics
    private let logger: Logger
    private var deadlines: ConnectionDeadlines
    private var timer: Scheduled<Void>?
    private var started = false
    /// Whether the read under way has decoded a request part.
    private var decodedInRead = false
    /// Set once a wait ran out: the connection closes and nothing more is written.
    private var expired = false

    init(configuration: HTTPServer.Configuration, metrics: HTTPMetrics, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        deadlines = ConnectionDeadlines(
            limits: .init(
                header: TimeAmount(configuration.headerTimeout), body: TimeAmount(configuration.bodyTimeout),
                idle: TimeAmount(configuration.idleTimeout)))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        decodedInRead = true
        switch unwrapInboundIn(data) {
        case .head: deadlines.headRead(at: .now())
        case .body: break
        case .end: deadlines.endRead(at: .now())
        }
        setTimer(context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !decodedInRead { deadlines.bytesRead(at: .now()) }
        decodedInRead = false
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !expired else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head: deadlines.responseBegan()
        case .body: break
        case .end:
            deadlines.responseEnded(at: .now())
            setTimer(context)
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        deadlines.opened(at: .now())
        setTimer(context)
    }

    /// Sets the timer for a wait that has begun, unless it is set: it fires early enough for any
    /// wait (``ConnectionDeadlines``), so it is never moved.
    private func setTimer(_ context: ChannelHandlerContext) {
        guard timer == nil, deadlines.waiting != nil, let wake = deadlines.firstWake(at: .now()) else { return }
        schedule(at: wake, context)
    }

    private func schedule(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.fire(context) }
    }

    private func fire(_ context: ChannelHandlerContext) {
        timer = nil
        switch deadlines.wake(at: .now()) {
        case .stop: break
        case .sleep(let until): schedule(at: until, context)
        case .expired(let kind, let respond): expire(kind, respond: respond, context)
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    /// Closes the connection, after a 408 when one can be written; later writes fail.
    private func expire(_ kind: HTTPTimeout, respond: Bool, _ context: ChannelHandlerContext) {
        expired = true
        metrics.timedOut(kind)
        let why = reason(kind)
        logger.debug(
            "closing an HTTP connection",
            metadata: ["reason": "\(why)", "peer": "\(context.channel.remoteAddress?.description ?? "?")"])
        guard respond else {
            context.close(promise: nil)
            return
        }
        let answer = Answer(408, detail: why)
        context.write(wrapOutboundOut(.head(answer.head(closing: true))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// What did not arrive in time, and the flag that says how long: the 408's `detail`.
    private func reason(_ kind: HTTPTimeout) -> String {
        switch kind {
        case .header:
            "the request head did not arrive within \(configuration.headerTimeout.formattedSeconds) (--header-timeout)"
        case .body:
            "the request body did not arrive within \(configuration.bodyTimeout.formattedSeconds) (--body-timeout)"
        case .idle:
            "no next request came within \(configuration.idleTimeout.formattedSeconds) (--idle-timeout)"
        }
    }
}

@available(*, unavailable)
extension ConnectionTimeoutHandler: Sendable {}

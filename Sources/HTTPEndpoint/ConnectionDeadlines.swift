import NIOCore

/// What a connection's client kept the server waiting for: the `kind` of
/// `launch_worker_http_timeouts_total`.
enum HTTPTimeout: String, CaseIterable, Sendable {
    /// The rest of a request head (`--header-timeout`), counted from its first byte, or from the
    /// connection's opening for its first request.
    case header
    /// The rest of a request's body (`--body-timeout`), counted from its head, or from the answer
    /// to the request before it when that came later.
    case body
    /// A next request on a kept-alive connection (`--idle-timeout`), counted from the last answer.
    case idle
}

/// One connection's deadlines as a plain value: what the server waits for from its client (a
/// request head, the rest of a body, a next request), until when, and what its timer does when
/// it fires. ``ConnectionTimeoutHandler`` feeds it the connection's events and acts on its
/// answers.
///
/// Only waits on the client are timed. While a request that has been read waits for its answer
/// (a predict running for minutes, a request pipelined behind it) no deadline runs: the client
/// waits for the server then, not the other way round.
///
/// A wait's deadline is fixed when the wait begins, so a client sending a byte a second gains
/// nothing. The timer never needs moving earlier: it always fires within the shortest limit of
/// the moment it was set, before any deadline a later wait could have; each wake acts, sleeps
/// again, or stops while the server is busy. Serving a request neither schedules nor cancels a
/// timer, which keeps the per-request cost on the event loop to a few comparisons.
struct ConnectionDeadlines {
    /// How long each wait may last.
    struct Limits: Sendable {
        var header: TimeAmount
        var body: TimeAmount
        var idle: TimeAmount

        /// The limit of `kind`'s wait.
        subscript(kind: HTTPTimeout) -> TimeAmount {
            switch kind {
            case .header: header
            case .body: body
            case .idle: idle
            }
        }

        /// The shortest limit: the longest the timer sleeps.
        var shortest: TimeAmount { min(header, body, idle) }
    }

    /// A wait on the client and its deadline.
    struct Wait: Equatable {
        var kind: HTTPTimeout
        var deadline: NIODeadline
    }

    /// What the timer does when it fires.
    enum Wake: Equatable {
        /// Nothing: no wait runs while the server answers; the next wait sets the timer again.
        case stop
        /// Sleep again, until then.
        case sleep(until: NIODeadline)
        /// The wait ran out: close the connection, after a 408 when `respond`.
        case expired(HTTPTimeout, respond: Bool)
    }

    private let limits: Limits
    /// Requests whose head has been read and whose response has not ended.
    private var unanswered = 0
    /// Whether the end of the last request read (its body) is still to come.
    private var readingBody = false
    /// Whether a response has begun and not ended.
    private var responding = false
    /// Whether bytes of a request head not yet whole have arrived.
    private var headBegun = false
    /// What the server waits for from the client, and until when; nil while it is busy answering
    /// (or before the connection opened).
    private(set) var waiting: Wait?

    init(limits: Limits) {
        self.limits = limits
    }

    /// The connection opened: its first request head is awaited at once (a connection that sends
    /// nothing is a probe or an attack; it is closed quietly, as an idle one).
    mutating func opened(at now: NIODeadline) {
        waiting = Wait(kind: .header, deadline: now + limits.header)
    }

    /// A request head was read.
    mutating func headRead(at now: NIODeadline) {
        headBegun = false
        unanswered += 1
        readingBody = true
        update(now)
    }

    /// A request's end was read.
    mutating func endRead(at now: NIODeadline) {
        readingBody = false
        update(now)
    }

    /// Bytes arrived that completed no part of a request: a request head has begun (on an idle
    /// connection, its deadline starts now).
    mutating func bytesRead(at now: NIODeadline) {
        switch waiting?.kind {
        case .idle:
            waiting = Wait(kind: .header, deadline: now + limits.header)
            headBegun = true
        case .header:
            headBegun = true
        case .body, nil:
            break
        }
    }

    /// A response's head was written.
    mutating func responseBegan() {
        responding = true
    }

    /// A response's end was written.
    mutating func responseEnded(at now: NIODeadline) {
        responding = false
        unanswered = max(0, unanswered - 1)
        update(now)
    }

    /// When the timer should first fire for the wait running, if it is not set.
    func firstWake(at now: NIODeadline) -> NIODeadline? {
        waiting.map { min($0.deadline, now + limits.shortest) }
    }

    /// What the timer does, firing at `now`.
    func wake(at now: NIODeadline) -> Wake {
        guard let waiting else { return .stop }
        guard now >= waiting.deadline else { return .sleep(until: min(waiting.deadline, now + limits.shortest)) }
        return .expired(waiting.kind, respond: canAnswer(waiting.kind))
    }

    /// Whether a 408 can be written when `kind`'s wait runs out: a request has begun (a head, or
    /// a body), no response is being written, and the request being read has had none.
    private func canAnswer(_ kind: HTTPTimeout) -> Bool {
        switch kind {
        case .header: headBegun && unanswered == 0 && !responding
        case .body: unanswered == 1 && !responding
        case .idle: false
        }
    }

    /// The wait that follows from what has been read and answered: the body of the only request
    /// unanswered, a next request once every one is answered, or none while the server answers.
    private mutating func update(_ now: NIODeadline) {
        let kind: HTTPTimeout?
        if readingBody {
            kind = unanswered <= 1 ? .body : nil
        } else {
            kind = unanswered == 0 ? .idle : nil
        }
        // A wait keeps the deadline it began with; a head begun stays awaited as a head.
        guard kind != waiting?.kind, !(kind == .idle && waiting?.kind == .header) else { return }
        waiting = kind.map { Wait(kind: $0, deadline: now + limits[$0]) }
    }
}

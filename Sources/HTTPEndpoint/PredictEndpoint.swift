import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import WorkerCore

/// Launch's sync endpoint (llm-engine's sync server surface), answering with the worker's
/// ``TaskRunner`` on the shared slots once the bundle has loaded (503 before).
///
/// `POST /predict` → 200 `{"status": "SUCCESS", ...}`; a predict error → 500
/// `{"detail": {"traceback": ...}}`; 400 bad request (an input that cannot be read or is refused
/// included); 401 without the token; 413 body too large;
/// 429 over capacity; 503 not ready or draining; 504 past the task timeout. `GET /healthz`,
/// `/healthcheck` (alive), `/readyz` (ready), `/metrics` (Prometheus text).
///
/// `POST /predict` is answered by ``InterceptingHandler`` (``PredictInterceptor``) on NIO's event loop; the router's
/// own `/predict` route (EndpointRoutes.swift, with every other route) answers the requests that
/// handler passes on, with the same ``admit(authorization:body:)`` and ``perform(_:)``.
final class PredictEndpoint: Sendable {
    let readiness: Readiness
    let metrics: WorkerMetrics
    /// The endpoint's own metrics: answers by status, connections timed out.
    let httpMetrics: HTTPMetrics
    let configuration: HTTPServer.Configuration
    let logger: Logger
    /// The requests answered on the event loop whose predict is running or waiting.
    let inFlight = InFlightPredicts()
    private let waiting = Mutex(0)
    /// In a pool's worker process, how long a stop leaves an idle connection open for a request
    /// its client may have sent already (``InterceptingHandler``); nil in a single worker,
    /// which closes idle connections at once (nothing else would answer their next request).
    let idleGraceOnQuiesce: TimeAmount?
    private let loaded = Mutex<(runner: TaskRunner, inputs: InputPolicy)?>(nil)

    init(readiness: Readiness, metrics: WorkerMetrics, configuration: HTTPServer.Configuration, logger: Logger) {
        self.readiness = readiness
        self.metrics = metrics
        self.httpMetrics = HTTPMetrics(registry: metrics.registry)
        self.configuration = configuration
        self.logger = logger
        idleGraceOnQuiesce = configuration.sharedSocket == nil ? nil : .seconds(1)
    }

    /// Starts answering `/predict` with `runner` (once the bundle has loaded), reading requests'
    /// inputs as `inputs` allows.
    func attach(_ runner: TaskRunner, inputs: InputPolicy) {
        loaded.withLock { $0 = (runner, inputs) }
    }

    /// Whether a pool's worker process with `openConnections` takes one more now
    /// (``SharedSocketAcceptor``): at once while it has a free slot and fewer connections than
    /// slots, so kept-alive connections spread over the processes; after its siblings had their
    /// chance otherwise, the longer the more connections it holds.
    @Sendable func acceptance(openConnections: Int) -> SharedSocketAcceptor.Readiness {
        guard readiness.current == .ready, let runner = loaded.withLock({ $0?.runner }) else { return .no }
        if let supervisor = configuration.supervisorAnsweringFile, access(supervisor, F_OK) == 0 { return .no }
        let slots = runner.slots.count
        guard !runner.slots.hasFreeSlot || openConnections >= slots else { return .now }
        return .deferred(excess: max(1, openConnections - slots + 1))
    }

    /// A request's body as read: whole, over `--max-body-bytes`, or broken off.
    enum RequestBody {
        case read(ByteBuffer)
        case tooLarge
        case unreadable(String)
    }

    /// What becomes of a request: answered at once, or admitted to run.
    enum Admission {
        case answered(Answer)
        case admitted(PredictWork)
    }

    /// Whether a request's `Content-Length` is over `--max-body-bytes`: it is answered 413 before
    /// its body is read.
    func declaresTooLarge(_ fields: HTTPFields) -> Bool {
        guard let declared = fields[.contentLength].flatMap({ Int($0) }) else { return false }
        return declared > configuration.maxBodyBytes
    }

    /// Checks a `/predict` request in order (ready, token, body size, request) and takes a free
    /// slot, or else reserves a place among the requests waiting for one (429 when there is
    /// neither, or at once with `--fail-on-concurrency-limit`).
    ///
    /// A pool's worker process that drains (recycled, rolled, stopped) still admits requests on
    /// the connections it had accepted: it drains by taking no new connection and closing those
    /// it holds after their request, while its siblings take the new ones, so none is refused.
    func admit(authorization: String?, body: RequestBody) -> Admission {
        let state = readiness.current
        let admitting = state == .ready || (state == .draining && configuration.sharedSocket != nil)
        guard admitting, let attached = loaded.withLock({ $0 }) else {
            return .answered(Answer(503, detail: "not ready: the worker is \(state.rawValue)"))
        }
        let (runner, inputs) = attached
        if let denied = authorize(authorization) { return .answered(denied) }
        let predictRequest: PredictRequest
        switch body {
        case .tooLarge:
            return .answered(
                Answer(413, detail: "the request body is over \(configuration.maxBodyBytes) bytes (--max-body-bytes)"))
        case .unreadable(let error):
            return .answered(Answer(400, detail: "the request body could not be read: \(error)"))
        case .read(let bytes):
            do {
                predictRequest = try PredictRequest(json: Array(buffer: bytes))
            } catch {
                return .answered(Answer(400, detail: error.description))
            }
        }
        let arrived = ContinuousClock.now
        // A free slot is taken at once: the request's task then starts on the slot's executor (one
        // hand-off to the slot's thread, not two through the cooperative pool), and only requests
        // that find every slot busy count against --max-queued (with 0, a free slot still serves).
        if let slot = runner.slots.tryAcquire() {
            return .admitted(
                PredictWork(request: predictRequest, runner: runner, inputs: inputs, slot: slot, arrived: arrived))
        }
        if configuration.failOnConcurrencyLimit {
            return .answered(
                Answer(429, detail: "all \(runner.slots.count) slots are busy (--fail-on-concurrency-limit)"))
        }
        let queued = waiting.withLock { waiting -> Bool in
            guard waiting < configuration.maxQueuedRequests else { return false }
            waiting += 1
            return true
        }
        guard queued else {
            return .answered(
                Answer(429, detail: "\(configuration.maxQueuedRequests) requests are already waiting (--max-queued)"))
        }
        return .admitted(
            PredictWork(request: predictRequest, runner: runner, inputs: inputs, slot: nil, arrived: arrived))
    }

    /// Runs admitted work: on its slot, or after waiting for one (a 503 when a single worker
    /// drains meanwhile, or the slots close). Best called from a task that prefers
    /// ``PredictWork/preferredExecutor``. `answerEarly` may get a 504 before this returns (a
    /// predict past its timeout that cannot be interrupted), from another thread; the caller
    /// answers whichever comes first.
    ///
    /// A pool's draining process waits on when the drain wakes the wait: it answers every
    /// request on the connections it holds, as their slots come free.
    func perform(_ work: PredictWork, answerEarly: @escaping @Sendable (Answer) -> Void) async -> Answer {
        if let slot = work.slot { return await run(work, on: slot, answerEarly: answerEarly) }
        var slot = await work.runner.slots.acquire()
        while slot == nil, configuration.sharedSocket != nil, !work.runner.slots.isClosed {
            slot = await work.runner.slots.acquire()
        }
        waiting.withLock { $0 -= 1 }
        guard let slot else {
            return Answer(503, detail: "not ready: the worker is \(work.runner.readiness.current.rawValue)")
        }
        return await run(work, on: slot, answerEarly: answerEarly)
    }

    /// Counts an answer to `/predict` in the metrics.
    func counted(_ answer: Answer) {
        httpMetrics.predictAnswered(code: answer.status.code)
    }

    /// Runs the request on `slot` (which the runner gives back when its predict ends) and answers
    /// it: 504 at the task timeout, even while a predict that cannot be interrupted runs on.
    private func run(
        _ work: PredictWork, on slot: any Slot, answerEarly: @escaping @Sendable (Answer) -> Void
    ) async -> Answer {
        do {
            let outcome = try await work.runner.runReleasingSlot(
                work.request, taskID: RandomID.uuid(), on: slot, inputs: work.inputs, waited: .now - work.arrived,
                logger: logger
            ) { answerEarly(Self.answer($0)) }
            return Self.answer(outcome)
        } catch let error as DurableWriteError {
            return Answer(500, traceback: "the pickled result could not be stored: \(error)")
        } catch {
            return Answer(503, detail: "the worker stopped before the request finished")
        }
    }

    /// The HTTP answer to a task's outcome.
    private static func answer(_ outcome: TaskOutcome) -> Answer {
        if outcome.timedOut { return Answer(504, traceback: outcome.response.traceback ?? "") }
        if let inputError = outcome.inputError { return Answer(400, detail: inputError.description) }
        guard outcome.response.status == .success else {
            return Answer(500, traceback: outcome.response.traceback ?? "")
        }
        return Answer(json: 200, ByteBuffer(bytes: outcome.response.jsonBytes()))
    }

    /// The refusal of a request without the bearer token, if one is required.
    func authorize(_ authorization: String?) -> Answer? {
        guard let token = configuration.token, !token.authorizes(authorization) else { return nil }
        var answer = Answer(401, detail: "missing or wrong bearer token")
        answer.headers[.wwwAuthenticate] = "Bearer"
        return answer
    }
}

/// A `/predict` request admitted to run: it holds a slot (one was free) or a place among the
/// requests waiting for one.
struct PredictWork: Sendable {
    let request: PredictRequest
    let runner: TaskRunner
    /// What the request's input may be.
    let inputs: InputPolicy
    /// The slot taken at once, if any.
    let slot: (any Slot)?
    let arrived: ContinuousClock.Instant

    /// Where the work's task should run: on its slot's executor, so predict runs there without
    /// a hand-off. When every slot prefers one executor (the worker's Python threads), requests
    /// wait for a slot there too: a slot given back resumes the next request in place, so queued
    /// requests run back to back. A predict past its timeout that cannot be interrupted holds
    /// its thread, not its caller's answer, which the runner's deadline watch gives.
    var preferredExecutor: (any TaskExecutor)? {
        return slot?.executor ?? runner.slots.sharedExecutor
    }
}

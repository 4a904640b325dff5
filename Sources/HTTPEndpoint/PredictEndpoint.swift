import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PythonBridge
import Synchronization
import WorkerCore

/// Launch's sync endpoint (llm-engine's sync server surface), answering with the worker's
/// ``TaskRunner`` on the shared slots once the bundle has loaded (503 before).
///
/// `POST /predict` → 200 `{"status": "SUCCESS", ...}`; a predict error → 500
/// `{"detail": {"traceback": ...}}`; 400 bad request; 401 without the token; 413 body too large;
/// 429 over capacity; 503 not ready or draining; 504 past the task timeout. `GET /healthz`,
/// `/healthcheck` (alive), `/readyz` (ready), `/metrics` (Prometheus text).
///
/// `POST /predict` is answered by ``PredictChannelHandler`` on NIO's event loop; the router's
/// own `/predict` route answers the requests that handler passes on (one pipelined behind a
/// request still being answered by the router), with the same ``admit(authorization:body:)``
/// and ``perform(_:)``.
final class PredictEndpoint: Sendable {
    let readiness: Readiness
    let metrics: WorkerMetrics
    let configuration: HTTPServer.Configuration
    let logger: Logger
    /// The requests answered on the event loop whose predict is running or waiting.
    let inFlight = InFlightPredicts()
    private let waiting = Mutex(0)
    private let loaded = Mutex<TaskRunner?>(nil)

    init(readiness: Readiness, metrics: WorkerMetrics, configuration: HTTPServer.Configuration, logger: Logger) {
        self.readiness = readiness
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts answering `/predict` with `runner` (once the bundle has loaded).
    func attach(_ runner: TaskRunner) {
        loaded.withLock { $0 = runner }
    }

    /// The router with every route.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("healthz") { _, _ in Answer(200, detail: "alive").response }
        router.get("healthcheck") { _, _ in Answer(200, detail: "alive").response }
        router.get("readyz") { _, _ in self.readyz().response }
        router.get("metrics") { request, _ in self.metrics(request) }
        router.post("predict") { request, _ in
            var request = request
            return await self.predict(&request).response
        }
        return router
    }

    private func readyz() -> Answer {
        let state = readiness.current
        return Answer(state == .ready ? 200 : 503, detail: state.rawValue)
    }

    private func metrics(_ request: Request) -> Response {
        if let denied = authorize(request.headers[.authorization]) { return denied.response }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.snapshot())))
    }

    /// `POST /predict` through the router.
    private func predict(_ request: inout Request) async -> Answer {
        let body: RequestBody
        do {
            body = .read(try await request.collectBody(upTo: configuration.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            body = .tooLarge
        } catch {
            body = .unreadable("\(error)")
        }
        let answer: Answer
        switch admit(authorization: request.headers[.authorization], body: body) {
        case .answered(let refusal):
            answer = refusal
        case .admitted(let work):
            answer = await withTaskExecutorPreference(work.preferredExecutor) { await self.perform(work) }
        }
        counted(answer)
        return answer
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

    /// Checks a `/predict` request in order (ready, token, body size, request) and reserves a
    /// slot or a place among the requests waiting for one (429 when there is neither).
    func admit(authorization: String?, body: RequestBody) -> Admission {
        let state = readiness.current
        guard state == .ready, let runner = loaded.withLock({ $0 }) else {
            return .answered(Answer(503, detail: "not ready: the worker is \(state.rawValue)"))
        }
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
        if configuration.failOnConcurrencyLimit {
            guard let thread = runner.slots.tryAcquire() else {
                return .answered(
                    Answer(429, detail: "all \(runner.slots.count) slots are busy (--fail-on-concurrency-limit)"))
            }
            return .admitted(PredictWork(request: predictRequest, runner: runner, slot: thread, arrived: arrived))
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
        return .admitted(PredictWork(request: predictRequest, runner: runner, slot: nil, arrived: arrived))
    }

    /// Runs admitted work: on its slot, or after waiting for one (a 503 when the worker stops
    /// lending slots meanwhile). Best called from a task that prefers
    /// ``PredictWork/preferredExecutor``.
    func perform(_ work: PredictWork) async -> Answer {
        if let thread = work.slot { return await run(work, on: thread) }
        let thread = await work.runner.slots.acquire()
        waiting.withLock { $0 -= 1 }
        guard let thread else {
            return Answer(503, detail: "not ready: the worker is \(work.runner.readiness.current.rawValue)")
        }
        return await run(work, on: thread)
    }

    /// Counts an answer to `/predict` in the metrics.
    func counted(_ answer: Answer) {
        metrics.httpRequest(code: answer.status.code)
    }

    /// Runs the request on the slot `thread` (which it gives back) and answers it.
    private func run(_ work: PredictWork, on thread: PythonThread) async -> Answer {
        let runner = work.runner
        defer { runner.slots.release(thread) }
        runner.metrics.taskStarted(wait: .now - work.arrived)
        defer { runner.metrics.taskLeft() }
        let taskID = RandomID.uuid()
        do {
            let (response, timedOut) = try await runner.run(work.request, taskID: taskID, on: thread, logger: logger)
            let status = timedOut ? "TIMEOUT" : response.status.rawValue
            runner.metrics.taskFinished(status: status, duration: .now - work.arrived)
            if timedOut { return Answer(504, traceback: response.traceback ?? "") }
            guard response.status == .success else { return Answer(500, traceback: response.traceback ?? "") }
            return Answer(json: 200, ByteBuffer(bytes: response.jsonData()))
        } catch let error as DurableWriteError {
            return Answer(500, traceback: "the pickled result could not be stored: \(error)")
        } catch {
            return Answer(503, detail: "the worker stopped before the request finished")
        }
    }

    private func authorize(_ authorization: String?) -> Answer? {
        guard let token = configuration.token, !token.authorizes(authorization) else { return nil }
        var answer = Answer(401, detail: "missing or wrong bearer token")
        answer.headers[.wwwAuthenticate] = "Bearer"
        return answer
    }
}

/// A `/predict` request admitted to run: it holds a slot (`--fail-on-concurrency-limit`) or a
/// place among the requests waiting for one.
struct PredictWork: Sendable {
    let request: PredictRequest
    let runner: TaskRunner
    /// The slot taken at once, if any.
    let slot: PythonThread?
    let arrived: ContinuousClock.Instant

    /// Where the work's task should run: on its slot's thread, so predict runs there without a
    /// hand-off. With one slot, requests wait for it on its thread too: the slot's release there
    /// resumes the next request in place, so the thread runs queued requests back to back.
    var preferredExecutor: PythonThread? {
        slot ?? (runner.slots.count == 1 ? runner.slots.threads[0] : nil)
    }
}

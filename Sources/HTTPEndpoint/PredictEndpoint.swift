import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PythonBridge
import Synchronization
import WorkerCore

/// Launch's sync endpoint routes (llm-engine's sync server surface), answering with the
/// worker's ``TaskRunner`` on the shared slots once the bundle has loaded (503 before).
///
/// `POST /predict` → 200 `{"status": "SUCCESS", ...}`; a predict error → 500
/// `{"detail": {"traceback": ...}}`; 400 bad request; 401 without the token; 413 body too large;
/// 429 over capacity; 503 not ready or draining; 504 past the task timeout. `GET /healthz`,
/// `/healthcheck` (alive), `/readyz` (ready), `/metrics` (Prometheus text).
final class PredictEndpoint: Sendable {
    let readiness: Readiness
    let metrics: WorkerMetrics
    let configuration: HTTPServer.Configuration
    let logger: Logger
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
        router.get("healthz") { _, _ in respond(200, detail: "alive") }
        router.get("healthcheck") { _, _ in respond(200, detail: "alive") }
        router.get("readyz") { _, _ in self.readyz() }
        router.get("metrics") { request, _ in self.metrics(request) }
        router.post("predict") { request, _ in
            var request = request
            return await self.predict(&request)
        }
        return router
    }

    private func readyz() -> Response {
        let state = readiness.current
        return respond(state == .ready ? 200 : 503, detail: state.rawValue)
    }

    private func metrics(_ request: Request) -> Response {
        if let denied = authorize(request) { return denied }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.snapshot())))
    }

    private func predict(_ request: inout Request) async -> Response {
        let response = await answer(&request)
        metrics.httpRequest(code: response.status.code)
        return response
    }

    private func answer(_ request: inout Request) async -> Response {
        let state = readiness.current
        guard state == .ready, let runner = loaded.withLock({ $0 }) else {
            return respond(503, detail: "not ready: the worker is \(state.rawValue)")
        }
        if let denied = authorize(request) { return denied }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return respond(
                413, detail: "the request body is over \(configuration.maxBodyBytes) bytes (--max-body-bytes)")
        } catch {
            return respond(400, detail: "the request body could not be read: \(error)")
        }
        let predictRequest: PredictRequest
        do {
            predictRequest = try PredictRequest(json: Array(buffer: body))
        } catch {
            return respond(400, detail: error.description)
        }
        let arrived = ContinuousClock.now
        switch reserve(runner) {
        case .refused(let refusal):
            return refusal
        case .admitted(let thread):
            return await run(predictRequest, on: thread, runner, arrived: arrived)
        case .queued where runner.slots.count == 1:
            // With one slot, wait for it on its own thread: the slot's release there resumes the
            // next request in place, so the thread runs queued requests back to back, without a
            // hand-off between threads for each.
            return await withTaskExecutorPreference(runner.slots.threads[0]) {
                await waitAndRun(predictRequest, runner, arrived: arrived)
            }
        case .queued:
            return await waitAndRun(predictRequest, runner, arrived: arrived)
        }
    }

    private enum Reservation {
        /// A slot, taken at once (`--fail-on-concurrency-limit`).
        case admitted(PythonThread)
        /// A place in the bounded queue of requests waiting for a slot.
        case queued
        case refused(Response)
    }

    /// A slot at once with `--fail-on-concurrency-limit`, otherwise a place among the requests
    /// waiting for one; a 429 when there is neither.
    private func reserve(_ runner: TaskRunner) -> Reservation {
        if configuration.failOnConcurrencyLimit {
            guard let thread = runner.slots.tryAcquire() else {
                return .refused(
                    respond(429, detail: "all \(runner.slots.count) slots are busy (--fail-on-concurrency-limit)"))
            }
            return .admitted(thread)
        }
        let queued = waiting.withLock { waiting -> Bool in
            guard waiting < configuration.maxQueuedRequests else { return false }
            waiting += 1
            return true
        }
        guard queued else {
            return .refused(
                respond(429, detail: "\(configuration.maxQueuedRequests) requests are already waiting (--max-queued)"))
        }
        return .queued
    }

    /// Waits for a slot (after ``reserve(_:)`` queued the request), then runs it; a 503 when the
    /// worker stops lending slots meanwhile.
    private func waitAndRun(_ request: PredictRequest, _ runner: TaskRunner, arrived: ContinuousClock.Instant) async
        -> Response
    {
        let thread = await runner.slots.acquire()
        waiting.withLock { $0 -= 1 }
        guard let thread else {
            return respond(503, detail: "not ready: the worker is \(runner.readiness.current.rawValue)")
        }
        return await run(request, on: thread, runner, arrived: arrived)
    }

    /// Runs the request on the slot `thread` (which it gives back) and answers it.
    private func run(
        _ request: PredictRequest, on thread: PythonThread, _ runner: TaskRunner, arrived: ContinuousClock.Instant
    ) async -> Response {
        defer { runner.slots.release(thread) }
        runner.metrics.taskStarted(wait: .now - arrived)
        defer { runner.metrics.taskLeft() }
        let taskID = UUID().uuidString.lowercased()
        var log = logger
        log[metadataKey: "task_id"] = "\(taskID)"
        do {
            let (response, timedOut) = try await runner.run(request, taskID: taskID, on: thread, logger: log)
            let status = timedOut ? "TIMEOUT" : response.status.rawValue
            runner.metrics.taskFinished(status: status, duration: .now - arrived)
            if timedOut { return respond(504, traceback: response.traceback ?? "") }
            guard response.status == .success else { return respond(500, traceback: response.traceback ?? "") }
            return json(200, response.jsonData())
        } catch let error as DurableWriteError {
            return respond(500, traceback: "the pickled result could not be stored: \(error)")
        } catch {
            return respond(503, detail: "the worker stopped before the request finished")
        }
    }

    private func authorize(_ request: Request) -> Response? {
        guard let token = configuration.token, !token.authorizes(request.headers[.authorization]) else { return nil }
        var response = respond(401, detail: "missing or wrong bearer token")
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }
}

/// `{"detail": "..."}` with `code`.
func respond(_ code: Int, detail: String) -> Response {
    json(code, Data(JSONText.object(["detail": detail]).utf8))
}

/// `{"detail": {"traceback": "..."}}` with `code`, as llm-engine answers a predict error.
func respond(_ code: Int, traceback: String) -> Response {
    json(code, Data("{\"detail\":\(JSONText.object(["traceback": traceback]))}".utf8))
}

func json(_ code: Int, _ body: Data) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(
        status: HTTPResponse.Status(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

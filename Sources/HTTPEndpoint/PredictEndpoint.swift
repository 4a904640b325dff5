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
        let clock = ContinuousClock()
        let arrived = clock.now
        let thread: PythonThread
        switch await admit(runner) {
        case .admitted(let slot): thread = slot
        case .refused(let refusal): return refusal
        }
        defer { runner.slots.release(thread) }
        runner.metrics.taskStarted(wait: clock.now - arrived)
        defer { runner.metrics.taskLeft() }
        let taskID = UUID().uuidString.lowercased()
        var log = logger
        log[metadataKey: "task_id"] = "\(taskID)"
        do {
            let (response, timedOut) = try await runner.run(predictRequest, taskID: taskID, on: thread, logger: log)
            let status = timedOut ? "TIMEOUT" : response.status.rawValue
            runner.metrics.taskFinished(status: status, duration: clock.now - arrived)
            if timedOut { return respond(504, traceback: response.traceback ?? "") }
            guard response.status == .success else { return respond(500, traceback: response.traceback ?? "") }
            return json(200, response.jsonData())
        } catch let error as DurableWriteError {
            return respond(500, traceback: "the pickled result could not be stored: \(error)")
        } catch {
            return respond(503, detail: "the worker stopped before the request finished")
        }
    }

    private enum Admission {
        case admitted(PythonThread)
        case refused(Response)
    }

    /// A slot for the request: at once or after waiting in a bounded queue; a refusal (429,
    /// or 503 while draining) otherwise.
    private func admit(_ runner: TaskRunner) async -> Admission {
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
        defer { waiting.withLock { $0 -= 1 } }
        guard let thread = await runner.slots.acquire() else {
            return .refused(respond(503, detail: "not ready: the worker is \(runner.readiness.current.rawValue)"))
        }
        return .admitted(thread)
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
    json(code, encode(["detail": detail]))
}

/// `{"detail": {"traceback": "..."}}` with `code`, as llm-engine answers a predict error.
func respond(_ code: Int, traceback: String) -> Response {
    json(code, encode(["detail": ["traceback": traceback]]))
}

private func encode(_ object: [String: Any]) -> Data {
    // Strings in dictionaries always encode.
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
}

func json(_ code: Int, _ body: Data) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(
        status: HTTPResponse.Status(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

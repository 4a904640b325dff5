import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import WorkerCore

/// Every route of the endpoint, in Hummingbird's router: `GET /healthz` and `/healthcheck`
/// (alive), `/readyz` (ready), `/metrics` (Prometheus text), and `POST /predict` for the requests
/// that ``InterceptingHandler`` passes on (one pipelined behind a request the router is still
/// answering).
extension PredictEndpoint {
    /// The router with every route.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("healthz") { _, _ in Answer(200, detail: "alive").response }
        router.get("healthcheck") { _, _ in Answer(200, detail: "alive").response }
        router.get("readyz") { _, _ in self.readyz().response }
        router.get("metrics") { request, _ in self.metricsText(request) }
        router.post("predict") { request, _ in
            var request = request
            return await self.predict(&request).response
        }
        return router
    }

    /// `/readyz`. A pool's draining process, which still answers on the connections it holds,
    /// answers for the pool there, as the process a new connection reaches does: ready while a
    /// sibling is.
    private func readyz() -> Answer {
        let state = readiness.current
        if state == .draining, configuration.sharedSocket != nil, (configuration.poolMetrics?.readyProcesses ?? 0) > 0 {
            return Answer(200, detail: Readiness.State.ready.rawValue)
        }
        return Answer(state == .ready ? 200 : 503, detail: state.rawValue)
    }

    private func metricsText(_ request: Request) -> Response {
        if let denied = authorize(request.headers[.authorization]) { return denied.response }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(
            status: .ok, headers: headers,
            body: .init(
                byteBuffer: ByteBuffer(
                    string: configuration.poolMetrics.map { $0.text(metrics.snapshot()) } ?? metrics.snapshot())))
    }

    /// `POST /predict` through the router.
    private func predict(_ request: inout Request) async -> Answer {
        let body: RequestBody
        do {
            body =
                declaresTooLarge(request.headers)
                ? .tooLarge : .read(try await request.collectBody(upTo: configuration.maxBodyBytes))
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
            answer = await firstAnswer(work)
        }
        counted(answer)
        return answer
    }

    /// The first of the work's answers: its predict's, or the timeout's given early; the predict
    /// runs on in a task of its own, cancelled with the caller.
    private func firstAnswer(_ work: PredictWork) async -> Answer {
        let running = Mutex<Task<Void, Never>?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let first = FirstAnswer()
                let give: @Sendable (Answer) -> Void = { answer in
                    if first.claim() { continuation.resume(returning: answer) }
                }
                let task = Task(executorPreference: work.preferredExecutor) {
                    give(await self.perform(work, answerEarly: give))
                }
                running.withLock { $0 = task }
                if Task.isCancelled { task.cancel() }  // cancelled before the handler could see it
            }
        } onCancel: {
            running.withLock { $0 }?.cancel()
        }
    }
}

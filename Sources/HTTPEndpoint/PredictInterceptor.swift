import HTTPTypes
import NIOCore

/// Takes a worker's `POST /predict` requests for its ``InterceptingHandler``: ``PredictEndpoint``
/// admits each (or answers it at once: not ready, a bad token, 413, 400, 429), and an admitted
/// request's predict runs in a task on the slot's thread, which hands the answer back to the
/// event loop.
struct PredictInterceptor: RequestInterceptor {
    let endpoint: PredictEndpoint

    var serverName: String? { HTTPServer.serverName }

    var maxBodyBytes: Int { endpoint.configuration.maxBodyBytes }

    var idleGraceOnQuiesce: TimeAmount? { endpoint.idleGraceOnQuiesce }

    /// `POST /predict` (with or without a query); other spellings go to the router.
    func takes(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, let path = head.path else { return false }
        return path == "/predict" || path.hasPrefix("/predict?")
    }

    func declaresTooLarge(_ head: HTTPRequest) -> Bool {
        endpoint.declaresTooLarge(head.headerFields)
    }

    func respond(
        to head: HTTPRequest, body: InterceptedBody, on eventLoop: any EventLoop,
        deliver: @escaping @Sendable (InterceptedAnswer) -> Void
    ) -> InterceptOutcome {
        let read: PredictEndpoint.RequestBody
        switch body {
        case .read(let bytes): read = .read(bytes)
        case .tooLarge: read = .tooLarge
        }
        switch endpoint.admit(authorization: head.headerFields[.authorization], body: read) {
        case .answered(let answer):
            endpoint.counted(answer)
            return .answer(answer.intercepted)
        case .admitted(let work):
            let endpoint = endpoint
            // The first answer goes out: the predict's, or a 504 given early by the task timeout.
            let first = FirstAnswer()
            let give: @Sendable (Answer) -> Void = { answer in
                guard first.claim() else { return }
                endpoint.counted(answer)
                deliver(answer.intercepted)
            }
            endpoint.inFlight.start(on: work.preferredExecutor) {
                give(await endpoint.perform(work, answerEarly: give))
            }
            return .pending
        }
    }
}

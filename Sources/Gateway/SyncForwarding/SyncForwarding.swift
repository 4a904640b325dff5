import Foundation
import HTTPTypes
import NIOCore

/// What forwarding `task_sync` shares between connections: the sync endpoints, the key check,
/// the kept-alive connections to workers, and how a worker's answer becomes the client's.
struct SyncForwarding: Sendable {
    let routes: SyncRoutes
    let pool: UpstreamPool
    let authentication: APIKeyAuthentication
    let metrics: GatewayMetrics
    /// The folder workers write pickled results into (served at `/results/`).
    let results: URL

    /// The largest request body forwarded (413 above).
    static let maxBodyBytes = 100 << 20
    /// The route's label in `/metrics`, as the router's route has it.
    static let routeLabel = "POST /task_sync/:endpoint"

    /// An answer ready to write.
    struct Answer {
        var status: HTTPResponse.Status
        var body: ByteBuffer

        /// The response head, saying `Connection: close` when `closing`.
        func head(closing: Bool) -> HTTPResponse {
            var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(body.readableBytes)]
            if closing { fields[.connection] = "close" }
            return HTTPResponse(status: status, headerFields: fields)
        }
    }

    /// The sync endpoint a request's head names, when its key is good and the endpoint has a
    /// ready worker now; nil sends the request to the router, which answers every other case.
    func route(for head: HTTPRequest) -> SyncRoutes.Route? {
        guard head.method == .post, let path = head.path, path.hasPrefix("/task_sync/") else { return nil }
        let name = path.dropFirst("/task_sync/".count).prefix { $0 != "?" }
        guard !name.isEmpty, !name.contains("/"), !name.contains("%"),
            let owner = try? authentication.owner(of: head.headerFields),
            let route = routes.route(owner: owner, name: String(name)), route.dispatch.hasReadyWorker
        else { return nil }
        return route
    }

    /// 413 for a body over ``maxBodyBytes``.
    func tooLarge() -> Answer {
        refusal(GatewayRefusal(.contentTooLarge, "the request body is over \(Self.maxBodyBytes) bytes"))
    }

    /// The client's answer for the worker's, its task counted in `/metrics` (the caller counts
    /// the answer).
    func answer(_ result: Result<UpstreamAnswer, any Error>, route: SyncRoutes.Route, head: HTTPRequest) -> Answer {
        let worker: UpstreamAnswer
        switch result {
        case .success(let answer):
            worker = answer
        case .failure(let error):
            metrics.task(endpoint: route.endpointID, state: "ERROR")
            return refusal(GatewayRefusal(.badGateway, "the endpoint's worker did not answer: \(error); try again"))
        }
        let answers = TaskAnswer(results: results, baseURL: "http://\(head.authority ?? "127.0.0.1")")
        guard let answer = answers.sync(status: worker.status, body: Data(worker.body.readableBytesView)) else {
            metrics.task(endpoint: route.endpointID, state: "ERROR")
            return Answer(status: .init(code: worker.status), body: worker.body)
        }
        metrics.task(endpoint: route.endpointID, state: answer.state)
        return Answer(status: .ok, body: ByteBuffer(bytes: answer.body))
    }

    private func refusal(_ refusal: GatewayRefusal) -> Answer {
        Answer(status: refusal.status, body: ByteBuffer(bytes: JSONAnswer.data(["detail": refusal.detail])))
    }
}

import Foundation
import HTTPEndpoint
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

    /// A connection's last `Authorization` header and its owner: a client sends the same key
    /// with every request, and working out the owner (base64, SHA-256) each time cost more
    /// than the rest of the request's own work.
    struct OwnerCache {
        var authorization: String?
        var owner: String?
    }

    /// The sync endpoint a request's head names, when its key is good and the endpoint has a
    /// ready worker now; nil sends the request to the router, which answers every other case.
    func route(for head: HTTPRequest, owners cache: inout OwnerCache) -> SyncRoutes.Route? {
        guard head.method == .post, let path = head.path, path.utf8.starts(with: Self.prefix) else { return nil }
        let name = path.utf8.dropFirst(Self.prefix.count).prefix { $0 != UInt8(ascii: "?") }
        guard !name.isEmpty, !name.contains(UInt8(ascii: "/")), !name.contains(UInt8(ascii: "%")) else { return nil }
        let authorization = head.headerFields[.authorization]
        let owner: String
        if let cached = cache.owner, authorization != nil, authorization == cache.authorization {
            owner = cached
        } else {
            guard let checked = try? authentication.owner(of: head.headerFields) else { return nil }
            cache = OwnerCache(authorization: authorization, owner: checked)
            owner = checked
        }
        guard let route = routes.route(owner: owner, name: String(decoding: name, as: UTF8.self)),
            route.dispatch.hasReadyWorker
        else { return nil }
        return route
    }

    private static let prefix = Array("/task_sync/".utf8)

    /// Forwards `body` to the worker `lease` names, releasing the lease when it answered; a
    /// worker whose socket refuses connections (it died since the endpoint last looked) is
    /// taken out of service and the next ready one tried, once.
    func forward(
        _ body: ByteBuffer, via dispatch: SyncDispatch, lease: SyncDispatch.Lease, on eventLoop: any EventLoop,
        retries: Int = 1
    ) -> EventLoopFuture<UpstreamAnswer> {
        pool.predict(body, socket: lease.socket, on: eventLoop)
            .always { _ in dispatch.release(lease) }
            .flatMapError { error in
                guard retries > 0, case UpstreamFailure.unreachable = error else {
                    return eventLoop.makeFailedFuture(error)
                }
                dispatch.withdraw(lease.worker)
                guard let next = dispatch.acquire() else { return eventLoop.makeFailedFuture(error) }
                return forward(body, via: dispatch, lease: next, on: eventLoop, retries: retries - 1)
            }
    }

    /// `answer`, counted in `/metrics` as the router's route counts its answers.
    func counted(_ answer: InterceptedAnswer) -> InterceptedAnswer {
        metrics.answered(route: Self.routeLabel, code: answer.status.code)
        return answer
    }

    /// 413 for a body over ``maxBodyBytes``.
    func tooLarge() -> InterceptedAnswer {
        refusal(GatewayRefusal(.contentTooLarge, "the request body is over \(Self.maxBodyBytes) bytes"))
    }

    /// The client's answer for the worker's, its task counted in `/metrics` (the caller counts
    /// the answer).
    func answer(_ result: Result<UpstreamAnswer, any Error>, route: SyncRoutes.Route, head: HTTPRequest)
        -> InterceptedAnswer
    {
        let worker: UpstreamAnswer
        switch result {
        case .success(let answer):
            worker = answer
        case .failure(let error):
            metrics.task(endpoint: route.endpointID, state: "ERROR")
            return refusal(GatewayRefusal(.badGateway, "the endpoint's worker did not answer: \(error); try again"))
        }
        let answers = TaskAnswer(results: results, baseURL: "http://\(head.authority ?? "127.0.0.1")")
        guard let answer = answers.sync(status: worker.status, body: worker.body) else {
            metrics.task(endpoint: route.endpointID, state: "ERROR")
            return Self.json(.init(code: worker.status), worker.body)
        }
        metrics.task(endpoint: route.endpointID, state: answer.state)
        return Self.json(.ok, answer.body)
    }

    private func refusal(_ refusal: GatewayRefusal) -> InterceptedAnswer {
        Self.json(refusal.status, ByteBuffer(bytes: JSONAnswer.data(["detail": refusal.detail])))
    }

    private static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer) -> InterceptedAnswer {
        InterceptedAnswer(status: status, headerFields: [.contentType: "application/json"], body: body)
    }
}

import HTTPEndpoint
import HTTPTypes
import NIOCore

/// Takes `POST /task_sync/{endpoint}` for the connection's ``InterceptingHandler``: it checks
/// the key, finds the endpoint's ready worker in its ``SyncDispatch``, forwards the body to the
/// worker's `/predict` on a kept-alive connection of the same event loop (``UpstreamPool``) and
/// delivers the answer in the client's shape. No Swift task, actor or other thread takes part:
/// each hop between threads cost tens of microseconds, and the gateway's overhead is what a user
/// pays on every sync request.
///
/// A `task_sync` it cannot forward at once (no key, an unknown or async endpoint, no worker
/// ready yet) goes to Hummingbird's router, whose route answers it, waiting for a worker when
/// the endpoint is starting.
struct SyncInterceptor: RequestInterceptor {
    let forwarding: SyncForwarding
    /// The connection's last key and its owner.
    private var owners = SyncForwarding.OwnerCache()
    /// The endpoint of the request taken, until it is answered.
    private var route: SyncRoutes.Route?

    init(forwarding: SyncForwarding) {
        self.forwarding = forwarding
    }

    /// No `Date` or `Server`: each header costs on the path a user pays on every sync request.
    var serverName: String? { nil }

    var maxBodyBytes: Int { SyncForwarding.maxBodyBytes }

    /// The gateway runs no pool of its own processes: a stop closes idle connections at once.
    var idleGraceOnQuiesce: TimeAmount? { nil }

    mutating func takes(_ head: HTTPRequest) -> Bool {
        route = forwarding.route(for: head, owners: &owners)
        return route != nil
    }

    /// Over the limit is known when the body is read.
    func declaresTooLarge(_ head: HTTPRequest) -> Bool { false }

    /// Forwards the request to a ready worker, or gives it to the router when none is ready now
    /// (one retired or died since the head came).
    mutating func respond(
        to head: HTTPRequest, body: InterceptedBody, on eventLoop: any EventLoop,
        deliver: @escaping @Sendable (InterceptedAnswer) -> Void
    ) -> InterceptOutcome {
        guard let route else { return .passOn }
        self.route = nil
        guard case .read(let bytes) = body else { return .answer(forwarding.counted(forwarding.tooLarge())) }
        guard let lease = route.dispatch.acquire() else { return .passOn }
        let forwarding = forwarding
        forwarding.forward(bytes, via: route.dispatch, lease: lease, on: eventLoop).whenComplete { result in
            deliver(forwarding.counted(forwarding.answer(result, route: route, head: head)))
        }
        return .pending
    }
}

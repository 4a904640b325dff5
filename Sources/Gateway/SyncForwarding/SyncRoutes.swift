import Synchronization

/// Every sync endpoint's ``SyncDispatch``, by owner and name, behind a lock: where a `task_sync`
/// answered on the event loop finds its endpoint without the fleet's actor. The
/// ``EndpointFleet`` keeps it in step with its endpoints.
final class SyncRoutes: Sendable {
    /// One sync endpoint as a request needs it.
    struct Route: Sendable {
        /// The endpoint's id (for metrics).
        let endpointID: String
        let dispatch: SyncDispatch
    }

    private struct Key: Hashable {
        var owner: String
        var name: String
    }

    private let routes = Mutex<[Key: Route]>([:])

    /// `owner`'s sync endpoint `name`, if it has one.
    func route(owner: String, name: String) -> Route? {
        routes.withLock { $0[Key(owner: owner, name: name)] }
    }

    /// Adds (or replaces) `owner`'s sync endpoint `name`.
    func add(_ route: Route, owner: String, name: String) {
        routes.withLock { $0[Key(owner: owner, name: name)] = route }
    }

    /// Removes `owner`'s endpoint `name`.
    func remove(owner: String, name: String) {
        routes.withLock { $0[Key(owner: owner, name: name)] = nil }
    }
}

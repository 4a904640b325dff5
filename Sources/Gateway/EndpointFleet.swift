import Foundation
import Logging

/// Every endpoint's ``EndpointRunner``, by owner and name, kept in step with the database.
actor EndpointFleet {
    private struct Key: Hashable {
        var owner: String
        var name: String
    }

    private var runners: [Key: EndpointRunner] = [:]
    private var byID: [String: EndpointRunner] = [:]
    private let context: EndpointRunner.Context
    /// The sync endpoints as the event loop's forwarding finds them.
    private let syncRoutes: SyncRoutes

    init(context: EndpointRunner.Context, syncRoutes: SyncRoutes) {
        self.context = context
        self.syncRoutes = syncRoutes
    }

    /// Starts a runner for an endpoint (new, or found in the database after a restart).
    func launch(_ record: EndpointRecord, owner: String) async throws {
        let runner = try EndpointRunner(record: record, context: context)
        runners[Key(owner: owner, name: record.name)] = runner
        byID[record.id] = runner
        if record.kind == .sync {
            syncRoutes.add(.init(endpointID: record.id, dispatch: runner.dispatch), owner: owner, name: record.name)
        }
        await runner.start()
    }

    /// `owner`'s endpoint `name`.
    func runner(_ name: String, owner: String) -> EndpointRunner? {
        runners[Key(owner: owner, name: name)]
    }

    /// The endpoint with id `id`, whoever owns it (task lookups check the owner first).
    func runner(id: String) -> EndpointRunner? {
        byID[id]
    }

    /// Every endpoint of `owner`, by name.
    func runners(owner: String) -> [EndpointRunner] {
        runners.filter { $0.key.owner == owner }.sorted { $0.key.name < $1.key.name }.map(\.value)
    }

    /// Every endpoint, for `/metrics`.
    func allRunners() -> [EndpointRunner] {
        Array(runners.values)
    }

    /// Whether an endpoint serves the bundle folder `folder` (a deleted bundle's folder stays
    /// until none does).
    func servesBundle(at folder: String) async -> Bool {
        for runner in runners.values where await runner.record.bundleFolder == folder { return true }
        return false
    }

    /// Drains and forgets `owner`'s endpoint `name`, removing its files.
    ///
    /// - Returns: the endpoint's id; nil when there was none.
    func remove(_ name: String, owner: String) async -> String? {
        guard let runner = runners.removeValue(forKey: Key(owner: owner, name: name)) else { return nil }
        syncRoutes.remove(owner: owner, name: name)
        byID.removeValue(forKey: runner.id)
        await runner.stop(deleting: true)
        return runner.id
    }

    /// Drains every endpoint's workers (the gateway stops; the endpoints stay recorded).
    func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for runner in runners.values { group.addTask { await runner.stop(deleting: false) } }
        }
    }
}

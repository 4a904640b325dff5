import Foundation

/// An endpoint at one moment: what was asked for, its status, and how many of its workers are
/// ready (`available_workers`) or not yet (`unavailable_workers`).
struct EndpointSnapshot: Sendable {
    var record: EndpointRecord
    var status: EndpointRunner.Status
    var readyWorkers: Int
    var otherWorkers: Int

    /// The endpoint as the client reads it (`ModelEndpoint.from_dict`).
    var clientObject: [String: Any] {
        let settings = record.settings
        return [
            "name": record.name, "id": record.id, "bundle_name": record.bundleName,
            "endpoint_type": record.kind.rawValue, "status": status.rawValue, "destination": record.destination,
            "metadata": ["labels": record.labels], "resource_settings": settings.resourceObject,
            "worker_settings": [
                "min_workers": settings.minWorkers, "max_workers": settings.maxWorkers,
                "per_worker": settings.perWorker, "available_workers": readyWorkers,
                "unavailable_workers": otherWorkers,
            ],
        ]
    }
}

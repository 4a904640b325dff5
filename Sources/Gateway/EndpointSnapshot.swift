import Foundation

/// An endpoint at one moment: what was asked for, its status, how many of its workers are
/// ready (`available_workers`) or not yet (`unavailable_workers`), its load.
struct EndpointSnapshot: Sendable {
    var record: EndpointRecord
    var status: EndpointRunner.Status
    var readyWorkers: Int
    var otherWorkers: Int
    /// What the autoscaler wants now.
    var wantedWorkers: Int
    /// Tasks waiting and running (async), or requests being forwarded (sync).
    var load: Int
    /// Each worker: its number, process id, whether it is ready.
    var workers: [(number: Int, pid: Int32, ready: Bool)]

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

extension EndpointSnapshot {
    /// The endpoint as `GET /status` shows it: its workers and queue, for an operator.
    var statusObject: [String: Any] {
        [
            "name": record.name, "id": record.id, "endpoint_type": record.kind.rawValue, "status": status.rawValue,
            "bundle_name": record.bundleName, "load": load, "wanted_workers": wantedWorkers,
            "workers": workers.map { ["number": $0.number, "pid": Int($0.pid), "ready": $0.ready] },
        ]
    }
}

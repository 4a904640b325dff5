import Foundation

/// An endpoint as it was asked for: what survives a restart. Its status and workers live in its
/// ``EndpointRunner``.
struct EndpointRecord: Codable, Sendable, Equatable {
    /// Sync endpoints answer `task_sync` through workers' Unix sockets; async ones serve a queue.
    enum Kind: String, Codable, Sendable {
        case sync, async
    }

    /// The gateway's id: names the endpoint's queue, sockets and logs.
    var id: String
    /// `endpoint_name`.
    var name: String
    /// `bundle_name` of the bundle it serves.
    var bundleName: String
    /// That bundle's folder, which its workers serve (kept should the bundle be deleted).
    var bundleFolder: String
    /// `endpoint_type`.
    var kind: Kind
    /// Workers, concurrency and resources.
    var settings: EndpointSettings
    /// `labels`, kept and shown.
    var labels: [String: String]

    /// Where llm-engine would queue its tasks: `launch-endpoint-id-<id>`.
    var destination: String { "launch-endpoint-id-\(id)" }
}

/// An endpoint's `min_workers`, `max_workers`, `per_worker` and resources, checked as Launch
/// checks them.
struct EndpointSettings: Codable, Sendable, Equatable {
    var minWorkers = 1
    var maxWorkers = 1
    var perWorker = 10
    var cpus: Double = 3
    var memory = "8Gi"
    var storage: String?
    var gpus = 0
    var gpuType: String?

    /// The largest `max_workers` Launch accepts.
    static let workerLimit = 250

    /// Takes the fields `body` gives (a create's or an edit's), leaving the others.
    ///
    /// - Throws: ``GatewayRefusal`` 400 naming a field of the wrong type.
    mutating func apply(_ body: [String: Any]) throws(GatewayRefusal) {
        try Self.read(body, "min_workers", into: &minWorkers)
        try Self.read(body, "max_workers", into: &maxWorkers)
        try Self.read(body, "per_worker", into: &perWorker)
        try Self.read(body, "gpus", into: &gpus)
        if let value = body["cpus"], !(value is NSNull) {
            guard let number = value as? NSNumber, !Self.isBoolean(number) else {
                throw GatewayRefusal(.badRequest, "cpus must be a number, not \(value)")
            }
            cpus = number.doubleValue
        }
        if let value = body["memory"] as? String { memory = value }
        if let value = body["storage"] as? String { storage = value }
        if body.keys.contains("gpu_type") { gpuType = body["gpu_type"] as? String }
    }

    /// Checks the settings for an endpoint of `kind`, as Launch does.
    ///
    /// - Throws: ``GatewayRefusal`` 400 saying which rule is broken.
    func validate(for kind: EndpointRecord.Kind) throws(GatewayRefusal) {
        guard minWorkers >= 0, minWorkers <= maxWorkers, maxWorkers <= Self.workerLimit else {
            throw GatewayRefusal(
                .badRequest,
                "min_workers (\(minWorkers)) and max_workers (\(maxWorkers)) must satisfy 0 <= min_workers <= max_workers <= \(Self.workerLimit)"
            )
        }
        guard perWorker > 0 else { throw GatewayRefusal(.badRequest, "per_worker must be above 0, not \(perWorker)") }
        guard kind == .async || minWorkers >= 1 else {
            throw GatewayRefusal(
                .badRequest, "a sync endpoint needs min_workers >= 1 (only async endpoints scale from 0)")
        }
        guard cpus > 0, gpus >= 0 else {
            throw GatewayRefusal(.badRequest, "cpus must be above 0 and gpus not negative")
        }
    }

    /// `resource_settings` as the client reads it.
    var resourceObject: [String: Any] {
        ["cpus": cpus, "memory": memory, "storage": storage ?? NSNull(), "gpus": gpus, "gpu_type": gpuType ?? NSNull()]
    }

    private static func read(_ body: [String: Any], _ field: String, into value: inout Int) throws(GatewayRefusal) {
        guard let given = body[field], !(given is NSNull) else { return }
        guard let number = given as? NSNumber, !isBoolean(number), number.doubleValue == number.doubleValue.rounded()
        else {
            throw GatewayRefusal(.badRequest, "\(field) must be an integer, not \(given)")
        }
        value = number.intValue
    }

    /// Whether JSON's `true` or `false` became `number` (Foundation reads them as numbers).
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}

import Foundation
import Hummingbird

/// `POST /endpoints`, `PUT /endpoints/{name}`, `GET /endpoints/{name}` (404 for an unknown name:
/// the client's `update_if_exists` relies on it), `GET /endpoints`, `DELETE /endpoints/{name}`
/// and `GET /endpoints/creation_logs/{name}`.
extension GatewayRoutes {
    func addEndpointRoutes(to router: Router<BasicRequestContext>) {
        route(router, .post, "endpoints") { request, _, owner in
            let body = try await JSONAnswer.object(of: request)
            guard let name = body["endpoint_name"] as? String, !name.isEmpty else {
                throw GatewayRefusal(.badRequest, "endpoint_name is missing: name the endpoint")
            }
            let kindName = body["endpoint_type"] as? String ?? "sync"
            guard let kind = EndpointRecord.Kind(rawValue: kindName) else {
                throw GatewayRefusal(.badRequest, "endpoint_type must be \"sync\" or \"async\", not \"\(kindName)\"")
            }
            let bundle = try await bundle(named: body["bundle_name"], owner: owner)
            var settings = EndpointSettings()
            try settings.apply(body)
            try settings.validate(for: kind)
            let labels = (body["labels"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            let record = EndpointRecord(
                id: String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)),
                name: name, bundleName: bundle.name, bundleFolder: bundle.folder, kind: kind, settings: settings,
                labels: labels)
            guard try await database.insert(record, owner: owner) else {
                throw GatewayRefusal(
                    .conflict, "an endpoint named \(name) already exists: edit it (PUT, or update_if_exists=True)")
            }
            try await fleet.launch(record, owner: owner)
            logger.info("endpoint created", metadata: ["endpoint": "\(name)", "endpoint_id": "\(record.id)"])
            return JSONAnswer.response(["endpoint_creation_task_id": record.id])
        }
        route(router, .put, "endpoints/:name") { request, context, owner in
            let name = try Self.parameter("name", context)
            let runner = try await runner(name, owner: owner)
            let body = try await JSONAnswer.object(of: request)
            var record = await runner.record
            if body["bundle_name"] != nil, !(body["bundle_name"] is NSNull) {
                let bundle = try await bundle(named: body["bundle_name"], owner: owner)
                record.bundleName = bundle.name
                record.bundleFolder = bundle.folder
            }
            try record.settings.apply(body)
            try record.settings.validate(for: record.kind)
            try await database.update(record, owner: owner)
            await runner.edit(record)
            logger.info("endpoint edited", metadata: ["endpoint": "\(name)", "endpoint_id": "\(record.id)"])
            return JSONAnswer.response(["endpoint_creation_task_id": record.id])
        }
        route(router, .get, "endpoints") { _, _, owner in
            var endpoints: [[String: Any]] = []
            for runner in await fleet.runners(owner: owner) { endpoints.append(await runner.snapshot().clientObject) }
            return JSONAnswer.response(["endpoints": endpoints])
        }
        route(router, .get, "endpoints/:name") { _, context, owner in
            let runner = try await runner(try Self.parameter("name", context), owner: owner)
            return JSONAnswer.response(await runner.snapshot().clientObject)
        }
        route(router, .delete, "endpoints/:name") { _, context, owner in
            let name = try Self.parameter("name", context)
            guard try await database.deleteEndpoint(name, owner: owner) else {
                throw GatewayRefusal.notFound("endpoint \(name)")
            }
            // Its tasks go with it (their answers went with its spool).
            if let id = await fleet.remove(name, owner: owner) { try await database.deleteTasks(endpointID: id) }
            logger.info("endpoint deleted", metadata: ["endpoint": "\(name)"])
            return JSONAnswer.response(["deleted": true])
        }
        route(router, .get, "endpoints/creation_logs/:name") { _, context, owner in
            let runner = try await runner(try Self.parameter("name", context), owner: owner)
            let log = (try? String(contentsOf: runner.files.creationLog, encoding: .utf8)) ?? ""
            return JSONAnswer.response(["content": log])
        }
    }

    /// `owner`'s endpoint `name`, or 404.
    func runner(_ name: String, owner: String) async throws(GatewayRefusal) -> EndpointRunner {
        guard let runner = await fleet.runner(name, owner: owner) else {
            throw GatewayRefusal.notFound("endpoint \(name)")
        }
        return runner
    }

    /// `owner`'s bundle named by a request's `bundle_name`, or 400.
    private func bundle(named value: Any?, owner: String) async throws -> BundleRecord {
        guard let name = value as? String, !name.isEmpty else {
            throw GatewayRefusal(.badRequest, "bundle_name is missing: name the bundle the endpoint serves")
        }
        guard let bundle = try await database.bundle(name, owner: owner) else {
            throw GatewayRefusal(.badRequest, "bundle \(name) does not exist: create it first (create_model_bundle)")
        }
        return bundle
    }
}

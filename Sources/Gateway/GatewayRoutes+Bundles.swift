import Foundation
import Hummingbird

/// `POST /model_bundle`, `GET /model_bundle`, `GET /model_bundle/{name}`,
/// `DELETE /model_bundle/{name}` and `POST /model_bundle/clone_with_changes`.
extension GatewayRoutes {
    func addBundleRoutes(to router: Router<BasicRequestContext>) {
        route(router, .post, "model_bundle") { request, _, owner in
            let body = try await JSONAnswer.object(of: request)
            guard let name = body["bundle_name"] as? String, !name.isEmpty else {
                throw GatewayRefusal(.badRequest, "bundle_name is missing: name the bundle")
            }
            let record = try await create(name: name, body: body, owner: owner)
            return JSONAnswer.response(record.clientObject)
        }
        route(router, .get, "model_bundle") { _, _, owner in
            let bundles = try await database.bundles(owner: owner)
            return JSONAnswer.response(["bundles": bundles.map(\.clientObject)])
        }
        route(router, .get, "model_bundle/:name") { _, context, owner in
            let name = try Self.parameter("name", context)
            guard let bundle = try await database.bundle(name, owner: owner) else {
                throw GatewayRefusal.notFound("bundle \(name)")
            }
            return JSONAnswer.response(["bundles": [bundle.clientObject]])
        }
        route(router, .delete, "model_bundle/:name") { _, context, owner in
            let name = try Self.parameter("name", context)
            guard let bundle = try await database.bundle(name, owner: owner) else {
                throw GatewayRefusal.notFound("bundle \(name)")
            }
            guard try await database.deleteBundle(name, owner: owner) else {
                throw GatewayRefusal.notFound("bundle \(name)")
            }
            // Endpoints serving it keep their workers' copy until they are edited or deleted.
            if await !fleet.servesBundle(at: bundle.folder) { folders.remove(bundle.folder) }
            return JSONAnswer.response(["deleted": true])
        }
        route(router, .post, "model_bundle/clone_with_changes") { request, _, owner in
            let body = try await JSONAnswer.object(of: request)
            guard let existing = body["existing_bundle_name"] as? String,
                let newName = body["new_bundle_name"] as? String, !newName.isEmpty
            else {
                throw GatewayRefusal(.badRequest, "give existing_bundle_name and new_bundle_name")
            }
            guard let original = try await database.bundle(existing, owner: owner),
                var cloned = try JSONSerialization.jsonObject(with: Data(original.requestJSON.utf8)) as? [String: Any]
            else { throw GatewayRefusal.notFound("bundle \(existing)") }
            cloned["bundle_name"] = newName
            cloned["app_config"] = body["app_config"] ?? NSNull()
            cloned["location"] = original.folder + "/artifact"
            let record = try await create(name: newName, body: cloned, owner: owner)
            return JSONAnswer.response(record.clientObject)
        }
    }

    /// Copies the bundle into its folder and records it; 409 when the name is taken.
    private func create(name: String, body: [String: Any], owner: String) async throws -> BundleRecord {
        if try await database.bundle(name, owner: owner) != nil {
            throw GatewayRefusal(.conflict, "a bundle named \(name) already exists: delete it or choose another name")
        }
        let id = UUID().uuidString.lowercased()
        let folder = try await folders.make(id: id, body: body)
        let requestJSON = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let record = BundleRecord(id: id, name: name, requestJSON: requestJSON, folder: folder.path)
        guard try await database.insert(record, owner: owner) else {
            folders.remove(folder.path)
            throw GatewayRefusal(.conflict, "a bundle named \(name) already exists: delete it or choose another name")
        }
        logger.info("bundle created", metadata: ["bundle": "\(name)", "bundle_id": "\(id)"])
        return record
    }
}

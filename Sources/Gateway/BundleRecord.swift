import Foundation

/// A bundle the gateway recorded: the Launch client's POST body, kept as sent, and the folder
/// (artifact and bundle.json) that workers serve it from.
struct BundleRecord: Codable, Sendable {
    /// `bundle_id`: the gateway's id, also the name of its folder.
    var id: String
    /// `bundle_name`.
    var name: String
    /// The POST body as JSON text (`packaging_type`, `location`, `bundle_metadata`,
    /// `requirements`, `env_params`, `app_config`).
    var requestJSON: String
    /// The bundle folder workers load.
    var folder: String

    /// The bundle as the client reads it (`ModelBundle.from_dict`).
    var clientObject: [String: Any] {
        let request =
            (try? JSONSerialization.jsonObject(with: Data(requestJSON.utf8)) as? [String: Any]) ?? [:]
        return [
            "name": name, "bundle_id": id,
            "location": request["location"] ?? NSNull(),
            "packaging_type": request["packaging_type"] ?? NSNull(),
            "metadata": request["bundle_metadata"] ?? NSNull(),
            "requirements": request["requirements"] ?? NSNull(),
            "env_params": request["env_params"] ?? NSNull(),
            "app_config": request["app_config"] ?? NSNull(),
        ]
    }
}

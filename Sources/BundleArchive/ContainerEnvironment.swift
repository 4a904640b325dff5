import Foundation
import LaunchBundle

/// llm-engine's container contract (bundle-contract.md section 7): how its own worker
/// container finds its bundle, read from the environment so the Swift worker can take its place.
///
/// `BUNDLE_URL` points at the raw artifact the Launch client uploaded (the cloudpickle bytes,
/// or the zip of code when `LOAD_PREDICT_FN_MODULE_PATH` is set), not at a `.bundle` file.
/// The app config is in the file `USER_CONFIG_LOCATION` (default `BASE_PATH/user_config`) as
/// base64 of its JSON; with no such file the bundle has no config, as in llm-engine.
/// `REQUIREMENTS_PATH` (ours) names a requirements file whose lines become the bundle's
/// `requirements`, so the worker prepares its environment as for any bundle.
public struct ContainerEnvironment: Sendable, Equatable {
    /// `BUNDLE_URL`: the artifact's location (a path, `file://`, `http://` or `https://`).
    public var bundleURL: String
    /// `BASE_PATH`: the app root (default `/app`).
    public var basePath: String
    /// `LOAD_PREDICT_FN_MODULE_PATH`, set only for zip bundles.
    public var loadPredictFnModulePath: String?
    /// `LOAD_MODEL_FN_MODULE_PATH`, set only for zip bundles.
    public var loadModelFnModulePath: String?
    /// `USER_CONFIG_LOCATION`, default `BASE_PATH/user_config`.
    public var userConfigLocation: String
    /// `REQUIREMENTS_PATH`: a requirements file, when set.
    public var requirementsPath: String?

    /// How errors name the bundle: where it came from.
    public var bundleDescription: String { "BUNDLE_URL=\(bundleURL)" }

    /// Reads the contract's variables.
    ///
    /// - Throws: ``ArchiveError`` (`environment`) when `BUNDLE_URL` is not set, or only one of
    ///   the two module paths is.
    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let bundleURL = value("BUNDLE_URL") else {
            throw ArchiveError(
                .environment, bundle: "(none given)",
                reason: """
                    no bundle was named and BUNDLE_URL is not set: name a bundle folder, .bundle file or URL, \
                    or set BUNDLE_URL (and, for zip bundles, LOAD_PREDICT_FN_MODULE_PATH and \
                    LOAD_MODEL_FN_MODULE_PATH) as llm-engine's containers do
                    """)
        }
        self.bundleURL = bundleURL
        basePath = value("BASE_PATH") ?? "/app"
        loadPredictFnModulePath = value("LOAD_PREDICT_FN_MODULE_PATH")
        loadModelFnModulePath = value("LOAD_MODEL_FN_MODULE_PATH")
        userConfigLocation =
            value("USER_CONFIG_LOCATION") ?? URL(filePath: basePath).appending(path: "user_config").path
        requirementsPath = value("REQUIREMENTS_PATH")
        if (loadPredictFnModulePath == nil) != (loadModelFnModulePath == nil) {
            let missing = loadPredictFnModulePath == nil ? "LOAD_PREDICT_FN_MODULE_PATH" : "LOAD_MODEL_FN_MODULE_PATH"
            throw ArchiveError(
                .environment, bundle: "BUNDLE_URL=\(bundleURL)",
                reason:
                    "\(missing) is not set: a zip bundle needs both LOAD_PREDICT_FN_MODULE_PATH and LOAD_MODEL_FN_MODULE_PATH"
            )
        }
    }

    /// `zip` when the module paths are set, else `cloudpickle`.
    public var packagingType: PackagingType {
        loadPredictFnModulePath == nil ? .cloudpickle : .zip
    }

    /// The app config: `USER_CONFIG_LOCATION`'s base64 decoded and parsed as JSON, as JSON
    /// text; nil when the file does not exist (no config, as in llm-engine).
    ///
    /// - Throws: ``ArchiveError`` (`environment`) naming the file when it cannot be read, is not
    ///   base64, or does not hold a JSON object (or null).
    public func appConfig() throws -> Any? {
        let file = userConfigLocation
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        func refuse(_ reason: String) -> ArchiveError {
            ArchiveError(.environment, bundle: bundleDescription, reason: "USER_CONFIG_LOCATION \(file) \(reason)")
        }
        guard let text = FileManager.default.contents(atPath: file) else { throw refuse("cannot be read") }
        guard let json = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !json.isEmpty || text.isEmpty
        else {
            throw refuse("is not base64 (it must hold base64 of the app config's JSON)")
        }
        if json.isEmpty { return nil }
        let config: Any
        do {
            config = try JSONSerialization.jsonObject(with: json, options: .fragmentsAllowed)
        } catch {
            throw refuse("does not decode to JSON (it must hold base64 of the app config's JSON)")
        }
        if config is NSNull { return nil }
        guard config is [String: Any] else { throw refuse("decodes to JSON that is not an object") }
        return config
    }

    /// The lines of `REQUIREMENTS_PATH` without blank lines and comments; none when it is not set.
    ///
    /// - Throws: ``ArchiveError`` (`environment`) naming the file when it cannot be read.
    public func requirements() throws -> [String] {
        guard let requirementsPath else { return [] }
        guard let text = try? String(contentsOf: URL(filePath: requirementsPath), encoding: .utf8) else {
            throw ArchiveError(
                .environment, bundle: bundleDescription,
                reason: "REQUIREMENTS_PATH \(requirementsPath) cannot be read: give a requirements file, or unset it")
        }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty && !$0.hasPrefix("#")
        }
    }

    /// The `bundle.json` of the bundle these variables describe, with sorted keys (so the same
    /// variables and artifact always give the same cache key).
    public func metadataJSON(artifactSHA256: String) throws -> Data {
        var bundleMetadata: [String: Any] = [:]
        if let loadPredictFnModulePath, let loadModelFnModulePath {
            bundleMetadata = [
                "load_predict_fn_module_path": loadPredictFnModulePath,
                "load_model_fn_module_path": loadModelFnModulePath,
            ]
        }
        var name = URL(string: bundleURL)?.lastPathComponent ?? ""
        if name.isEmpty || name == "/" { name = "bundle" }
        let object: [String: Any] = [
            "format_version": 1,
            "packaging_type": packagingType.rawValue,
            "bundle_name": name,
            "bundle_metadata": bundleMetadata,
            "requirements": try requirements(),
            "env_params": [String: Any](),
            "app_config": try appConfig() ?? NSNull(),
            "artifact_sha256": artifactSHA256,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    }
}

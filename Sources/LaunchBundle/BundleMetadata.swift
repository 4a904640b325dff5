import Foundation

/// How a bundle's artifact is packaged, as in the Launch client's `packaging_type`.
public enum PackagingType: String, Sendable, CaseIterable {
    /// `cloudpickle.dumps` of a callable or of a `load_predict_fn` dict.
    case cloudpickle
    /// A zip of code folders, with module paths to `load_model_fn` and `load_predict_fn`.
    case zip
}

/// The contents of `bundle.json`: what the Launch client POSTs when it creates a bundle, plus a
/// few optional fields of ours.
///
/// The client's own POST body is a valid `bundle.json`; `location` is ignored.
public struct BundleMetadata: Sendable, Equatable {
    /// `packaging_type`.
    public var packagingType: PackagingType
    /// `bundle_name`.
    public var bundleName: String
    /// `requirements`: pip requirement lines the bundle expects.
    public var requirements: [String]
    /// `env_params`' string fields (`framework_type`, `pytorch_image_tag`, `tensorflow_version`,
    /// ...); empty when absent.
    public var envParams: [String: String]
    /// `app_config` as JSON text, or nil when absent or null.
    public var appConfigJSON: String?
    /// `bundle_metadata.load_predict_fn_module_path` (zip bundles).
    public var loadPredictFnModulePath: String?
    /// `bundle_metadata.load_model_fn_module_path` (zip bundles).
    public var loadModelFnModulePath: String?
    /// `python_version`: the Python that made the bundle, when the builder recorded it.
    public var pythonVersion: String?
    /// `artifact_sha256`, when the builder recorded it.
    public var artifactSHA256: String?
    /// `format_version`, when the builder recorded it.
    public var formatVersion: Int?

    /// Parses and checks `bundle.json`'s bytes.
    ///
    /// - Parameter bundle: the bundle's name for errors (its folder).
    /// - Throws: ``BundleError`` naming the first field that is missing or wrong.
    public init(json: Data, bundle: String) throws(BundleError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                throw BundleError(.invalidMetadata, bundle: bundle, reason: "bundle.json is not a JSON object")
            }
            object = parsed
        } catch let error as BundleError {
            throw error
        } catch {
            throw BundleError(
                .invalidMetadata, bundle: bundle,
                reason: "bundle.json is not valid JSON (\(error.localizedDescription))")
        }
        let fields = Fields(object: object, bundle: bundle)

        let packaging: String = try fields.required("packaging_type", "\"cloudpickle\" or \"zip\"")
        guard let packagingType = PackagingType(rawValue: packaging) else {
            throw BundleError(
                .invalidField, bundle: bundle, field: "packaging_type",
                reason: "is \"\(packaging)\"; expected \"cloudpickle\" or \"zip\"")
        }
        self.packagingType = packagingType
        bundleName = try fields.required("bundle_name", "a string")
        requirements = try fields.optional("requirements", "a list of strings") ?? []
        let envParamsObject: [String: Any]? = try fields.optional("env_params", "an object")
        envParams = (envParamsObject ?? [:]).compactMapValues { $0 as? String }
        if let config: [String: Any] = try fields.optional("app_config", "an object or null") {
            // Re-encoding an object JSONSerialization just parsed cannot fail.
            appConfigJSON = (try? JSONSerialization.data(withJSONObject: config)).map {
                String(decoding: $0, as: UTF8.self)
            }
        } else {
            appConfigJSON = nil
        }
        pythonVersion = try fields.optional("python_version", "a string such as \"3.11.2\"")
        artifactSHA256 = try fields.optional("artifact_sha256", "a hex string")
        formatVersion = try fields.optional("format_version", "an integer")

        let bundleMetadata = try fields.optional("bundle_metadata", "an object").map {
            Fields(object: $0, bundle: bundle, prefix: "bundle_metadata.")
        }
        if packagingType == .zip {
            let metadata = bundleMetadata ?? Fields(object: [:], bundle: bundle, prefix: "bundle_metadata.")
            let purpose = "a dotted path to a function (zip bundles need it)"
            loadPredictFnModulePath = try metadata.required("load_predict_fn_module_path", purpose)
            loadModelFnModulePath = try metadata.required("load_model_fn_module_path", purpose)
        } else {
            loadPredictFnModulePath = nil
            loadModelFnModulePath = nil
        }
    }
}

/// Typed reads of a JSON object's fields, with errors that name the field.
private struct Fields {
    var object: [String: Any]
    var bundle: String
    var prefix = ""

    func required<Value>(_ name: String, _ expected: String) throws(BundleError) -> Value {
        guard let value: Value = try optional(name, expected) else {
            throw BundleError(
                .missingField, bundle: bundle, field: prefix + name, reason: "is missing; expected \(expected)")
        }
        return value
    }

    /// The field's value; nil when absent or JSON null.
    func optional<Value>(_ name: String, _ expected: String) throws(BundleError) -> Value? {
        guard let raw = object[name], !(raw is NSNull) else { return nil }
        guard let value = raw as? Value else {
            throw BundleError(
                .invalidField, bundle: bundle, field: prefix + name, reason: "has the wrong type; expected \(expected)")
        }
        return value
    }
}

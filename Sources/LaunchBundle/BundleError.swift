/// A bundle that cannot be used, with the bundle, the field and what is wrong with it.
public struct BundleError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// The bundle folder, its `bundle.json` or its `artifact` is missing or unreadable.
        case missingFile
        /// `bundle.json` is not a JSON object.
        case invalidMetadata
        /// A required field of `bundle.json` is absent.
        case missingField
        /// A field of `bundle.json` has the wrong type or an unknown value.
        case invalidField
    }

    /// What kind of problem it is.
    public var code: Code
    /// The bundle folder.
    public var bundle: String
    /// The `bundle.json` field at fault, dotted for nested fields (`bundle_metadata.load_model_fn_module_path`).
    public var field: String?
    /// What is wrong and how to fix it.
    public var reason: String

    /// Makes an error about `bundle` (and `field`, when one field is at fault).
    public init(_ code: Code, bundle: String, field: String? = nil, reason: String) {
        self.code = code
        self.bundle = bundle
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "bundle \(bundle): field '\(field)' \(reason)" }
        return "bundle \(bundle): \(reason)"
    }
}

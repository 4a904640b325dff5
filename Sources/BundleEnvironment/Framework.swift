/// The deep-learning framework a bundle's `env_params` name, which its environment must import.
///
/// Launch builds a bundle's image on a base image that holds the framework; a prepared
/// environment holds it only when the requirements name it, or when `prepare` is told to add it
/// (``FrameworkPolicy/install``), since its wheels are gigabytes.
public struct Framework: Sendable, Equatable {
    /// `framework_type`.
    public var type: String
    /// The module the environment must import (`torch`, `tensorflow`).
    public var module: String
    /// The projects whose requirement provides it (`torch`; `tensorflow`, `tensorflow-cpu`, ...).
    public var projects: [String]
    /// The line `--framework install` adds: the project, pinned to the version `env_params`
    /// names when it names one.
    public var requirement: String

    /// The `framework_type` values Launch knows; `custom_base_image` names no framework.
    public static let knownTypes = ["pytorch", "tensorflow", "custom_base_image"]

    /// The framework `envParams` name; nil for none (`custom_base_image`, or no
    /// `framework_type`).
    ///
    /// - Throws: ``EnvironmentError`` naming `env_params.framework_type` when it is not one Launch knows.
    public static func named(by envParams: [String: String], bundle: String) throws(EnvironmentError) -> Framework? {
        guard let type = envParams["framework_type"] else { return nil }
        switch type {
        case "pytorch":
            // pytorch_image_tag is the base image's tag, such as 1.7.1-cuda11.0-cudnn8-runtime.
            let version = envParams["pytorch_image_tag"].map(leadingVersion) ?? ""
            return Framework(
                type: type, module: "torch", projects: ["torch"],
                requirement: version.isEmpty ? "torch" : "torch==\(version)")
        case "tensorflow":
            let version = envParams["tensorflow_version"].map(leadingVersion) ?? ""
            return Framework(
                type: type, module: "tensorflow", projects: ["tensorflow", "tensorflow-cpu", "tensorflow-gpu"],
                requirement: version.isEmpty ? "tensorflow" : "tensorflow==\(version)")
        case "custom_base_image":
            return nil
        default:
            throw EnvironmentError(
                .invalidEnvParams, bundle: bundle,
                reason: """
                    field 'env_params.framework_type' is "\(type)"; expected one of \
                    \(knownTypes.map { "\"\($0)\"" }.joined(separator: ", "))
                    """)
        }
    }

    /// Whether `requirements` already name the framework.
    public func isNamed(in requirements: RequirementList) -> Bool {
        projects.contains { requirements.names($0) }
    }

    /// `1.7.1` of `1.7.1-cuda11.0-cudnn8-runtime`; empty when it starts with no digit.
    static func leadingVersion(_ tag: String) -> String {
        var version = String(tag.prefix { $0.isNumber || $0 == "." })
        while version.hasSuffix(".") { version.removeLast() }
        return version
    }
}

/// What `prepare` does about a framework the requirements do not name.
public enum FrameworkPolicy: String, Sendable, CaseIterable {
    /// Fail, saying the exact command that installs it.
    case check
    /// Add it to the requirements, pinned to the version `env_params` names.
    case install
}

import URLRedaction

/// A bundle environment that could not be made or used, naming the bundle and saying what to do.
public struct EnvironmentError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// `env_params` is wrong (an unknown `framework_type`).
        case invalidEnvParams
        /// The framework `env_params` names is not in the requirements (`--framework check`).
        case frameworkMissing
        /// No Python or installer to build with.
        case toolMissing
        /// Creating the environment or installing into it failed (a package that does not
        /// exist, no network, conflicting pins).
        case buildFailed
        /// The built environment cannot import what the runtime or the framework needs.
        case importFailed
        /// The environments' folder cannot be used.
        case cache
    }

    /// What kind of problem it is.
    public var code: Code
    /// The bundle as the user named it.
    public var bundle: String
    /// What is wrong and the fix.
    public var reason: String

    /// Makes an error about `bundle`.
    public init(_ code: Code, bundle: String, reason: String) {
        self.code = code
        self.bundle = bundle
        self.reason = reason
    }

    public var description: String { "bundle \(URLSecrets.hidden(in: bundle)): \(reason)" }
}

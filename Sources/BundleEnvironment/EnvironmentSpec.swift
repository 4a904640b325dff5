import Crypto
import Foundation

/// What a bundle's environment holds, and the key it is cached under: the embedded Python's
/// version, the runtime's version and where it is linked from (the default environment, so two
/// checkouts sharing a cache never run each other's runtime), and the normalised requirement
/// list (the bundle's own, the runtime's needs it does not pin itself, and the framework when
/// `--framework install` adds it).
///
/// Bundles whose specs are equal share one environment.
public struct EnvironmentSpec: Sendable, Equatable {
    /// The embedded Python's version, such as `3.11.2`.
    public var pythonVersion: String
    /// launch-worker's version.
    public var runtimeVersion: String
    /// The default environment, whose `launch_worker` is linked in.
    public var runtimeSource: String
    /// Everything installed.
    public var requirements: RequirementList
    /// The framework `env_params` name, which the environment must import.
    public var framework: Framework?

    /// What the runtime imports besides itself; a bundle's own pin of either wins.
    public static let runtimeNeeds = ["cloudpickle>=2.2", "PyYAML>=6"]

    /// The spec for a bundle with `requirements` and `envParams`.
    ///
    /// - Throws: ``EnvironmentError`` for an unknown `framework_type`, or (``FrameworkPolicy/check``)
    ///   a framework the requirements do not name, with the command that installs it.
    public init(
        requirements bundleRequirements: [String], envParams: [String: String], framework policy: FrameworkPolicy,
        pythonVersion: String, runtimeVersion: String, runtimeSource: String, bundle: String
    ) throws(EnvironmentError) {
        var requirements = RequirementList(bundleRequirements)
        let framework = try Framework.named(by: envParams, bundle: bundle)
        if let framework, !framework.isNamed(in: requirements) {
            guard policy == .install else {
                throw EnvironmentError(
                    .frameworkMissing, bundle: bundle,
                    reason: """
                        env_params.framework_type is "\(framework.type)", so its environment must import \
                        \(framework.module), but its requirements do not name \(framework.projects[0]); its wheels \
                        are large, so they are installed only when asked: run `launch-worker prepare \(bundle) \
                        --framework install` (adds \(framework.requirement)), or add \(framework.projects[0]) to the \
                        bundle's requirements
                        """)
            }
            requirements = requirements.adding(framework.requirement)
        }
        for need in Self.runtimeNeeds { requirements = requirements.adding(need) }
        self.requirements = requirements
        self.framework = framework
        self.pythonVersion = pythonVersion
        self.runtimeVersion = runtimeVersion
        self.runtimeSource = runtimeSource
    }

    /// The text the key hashes.
    public var keyText: String {
        (["launch-worker environment", "python \(pythonVersion)", "runtime \(runtimeVersion) from \(runtimeSource)"]
            + requirements.lines)
            .joined(separator: "\n")
    }

    /// The cache key: the SHA-256 of ``keyText`` in hex.
    public var key: String {
        SHA256.hash(data: Data(keyText.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The modules a built environment must import: the runtime's, and the framework's.
    var checkedModules: [String] {
        ["launch_worker.loader", "launch_worker.invoke", "cloudpickle", "yaml"] + (framework.map { [$0.module] } ?? [])
    }
}

import BundleEnvironment
import Foundation
import LaunchBundle
import Logging
import PythonBridge

/// The environment a bundle runs in, and the lease that keeps `cache prune` from removing it
/// while the bundle runs (for a prepared one).
struct EnvironmentChoice {
    /// The environment.
    var python: PythonEnvironment
    /// The prepared environment's lease, when it is one.
    var lease: EnvironmentStore.Lease?

    /// Chooses, as `--python-env` (first), `--environment` and the bundle's requirements say,
    /// preparing the bundle's environment when it has requirements, and logs which it is.
    ///
    /// - Throws: ``CLIError`` (exit 2) when the environment cannot be found, built or used.
    static func choose(
        for directory: BundleDirectory, bundle: String, runtime: RuntimeOptions, logger: Logger
    ) async throws(CLIError) -> EnvironmentChoice {
        let start = ContinuousClock.now
        let choice: EnvironmentChoice
        switch (runtime.pythonEnvironment, runtime.environment) {
        case (nil, .auto) where !directory.metadata.requirements.isEmpty:
            let lease = try await EnvironmentPreparation.prepare(
                directory, bundle: bundle, store: runtime.bundleSource.environments, options: runtime.environmentBuild,
                logger: logger)
            let how =
                lease.built ? "the bundle's environment, built now" : "the bundle's environment, found in the cache"
            choice = EnvironmentChoice(
                python: try validated(PythonEnvironment(root: lease.folder, source: .bundle(how))), lease: lease)
        case (nil, .folder(let folder)):
            let python = PythonEnvironment(root: URL(filePath: folder), source: .bundle("--environment"))
            choice = EnvironmentChoice(python: try validated(python), lease: nil)
        case (nil, .auto):
            // No requirements: the default environment, as before; env_params is still checked.
            do {
                _ = try Framework.named(by: directory.metadata.envParams, bundle: bundle)
            } catch {
                throw CLIError(message: error.description)
            }
            choice = EnvironmentChoice(python: try located(by: runtime), lease: nil)
        default:
            choice = EnvironmentChoice(python: try located(by: runtime), lease: nil)
        }
        logger.info(
            "python environment",
            metadata: [
                "folder": "\(choice.python.root.path)", "from": "\(choice.python.source)",
                "ms": "\((ContinuousClock.now - start).milliseconds)",
            ])
        return choice
    }

    /// `environment`, checked.
    private static func validated(_ environment: PythonEnvironment) throws(CLIError) -> PythonEnvironment {
        do {
            return try environment.validated()
        } catch {
            throw CLIError(message: "\(error) (launch-worker doctor says more)")
        }
    }

    /// The environment `--python-env`, `$LAUNCH_WORKER_PYTHON_ENV` or the checkout name.
    private static func located(by runtime: RuntimeOptions) throws(CLIError) -> PythonEnvironment {
        do {
            return try runtime.locateEnvironment()
        } catch {
            throw CLIError(message: "\(error) (launch-worker doctor says more)")
        }
    }
}

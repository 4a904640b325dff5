import ArgumentParser
import BundleEnvironment
import Foundation
import Logging
import URLRedaction

/// `launch-worker prepare`: make (or find) a bundle's environment, and show its creation log.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Make (or find) the environment of a bundle's requirements, and print its folder.",
        discussion: """
            The environment is a venv of the embedded Python holding the runtime's needs (launch_worker, \
            cloudpickle, PyYAML) and the bundle's requirements (its own pins win), built with uv (pip when \
            uv is absent) and cached under the SHA-256 of the Python's version, the runtime's version and \
            the normalised requirements: bundles with the same requirements share one, and a second prepare \
            finds it at once. Workers preparing at the same time build once. The index settings \
            (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX, UV_*) are honoured. Each \
            build's whole output is kept in its creation log; a failed build's last lines are in the error.

            Examples:
              launch-worker prepare my-bundle
              PIP_NO_INDEX=1 PIP_FIND_LINKS=/srv/wheels launch-worker prepare my-bundle --log
            """
    )

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @Flag(help: "Print the environment's creation log on stdout after its folder (also when the build failed).")
    var log = false

    @OptionGroup var build: EnvironmentBuildOptions

    @OptionGroup var source: BundleSourceOptions

    @Option(help: "Log level on stderr.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = stderrLogger(level: logLevel)
        let resolved = try await BundleSession.resolve(bundle, options: source, logger: logger)
        let name = URLSecrets.hidden(in: bundle ?? resolved.directory.metadata.bundleName)
        let store = source.environments
        let lease: EnvironmentStore.Lease
        do {
            lease = try await EnvironmentPreparation.prepare(
                resolved.directory, bundle: name, store: store, options: build, logger: logger)
        } catch {
            if log, let plan = try? EnvironmentPreparation.plan(resolved.directory, bundle: name, options: build) {
                printLog(store.logFile(for: plan.spec.key))
            }
            throw error
        }
        logger.info(lease.built ? "environment built" : "environment found", metadata: ["key": "\(lease.key)"])
        print(lease.folder.path)
        if log { printLog(store.logFile(for: lease.key)) }
    }

    private func printLog(_ file: URL) {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            print("(no creation log at \(file.path))")
            return
        }
        print(text, terminator: "")
    }
}

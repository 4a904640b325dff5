import ArgumentParser
import BundleArchive
import BundleEnvironment
import Foundation
import LaunchBundle
import Logging
import PythonBridge
import URLRedaction
import WorkerCore

/// A bundle loaded into the embedded interpreter for one command, with the folder its zip
/// code was unpacked into (removed by ``close()``) and, for a bundle in the cache, the lease
/// that keeps `cache prune` from removing it while it runs, and the same for its prepared
/// environment.
struct BundleSession {
    let interpreter: PythonInterpreter
    let bundle: LoadedBundle
    private let codeFolder: URL?
    private let lease: BundleCache.Lease?
    private let environmentLease: EnvironmentStore.Lease?

    /// How commands describe their bundle argument.
    static let argumentHelp = ArgumentHelp(
        """
        The bundle: a folder holding bundle.json and artifact, a .bundle file, or a file://, http:// or https:// \
        URL of one. Without it, llm-engine's container variables name it (BUNDLE_URL, BASE_PATH, \
        LOAD_PREDICT_FN_MODULE_PATH, LOAD_MODEL_FN_MODULE_PATH, USER_CONFIG_LOCATION).
        """,
        valueName: "bundle")

    /// The variable that tells the Python runtime how much a zip bundle's code may unpack to.
    static let maxUnpackedSizeVariable = "LAUNCH_WORKER_MAX_UNPACKED_SIZE"

    /// Opens the bundle `reference` names (or, when nil, the one llm-engine's container
    /// variables describe), chooses its environment (preparing it when it has requirements),
    /// starts Python there, loads the bundle and logs how long it took, with a warning first when
    /// the environment lacks some of the bundle's requirements.
    ///
    /// - Throws: ``CLIError`` (exit 2) for a bundle that cannot be found, downloaded, unpacked
    ///   or read, a cloudpickle bundle made by another Python minor version (unless
    ///   `--allow-python-mismatch`), a Python that cannot start, or a bundle whose loading
    ///   failed (with the Python traceback).
    static func open(_ reference: String?, runtime: RuntimeOptions, logger: Logger) async throws(CLIError)
        -> BundleSession
    {
        let resolved = try await resolve(reference, options: runtime.bundleSource, logger: logger)
        let directory = resolved.directory
        try checkPython(
            of: directory, name: URLSecrets.hidden(in: reference ?? directory.folder.path), runtime: runtime,
            logger: logger)
        // The Python runtime reads it when it unpacks a zip bundle's code.
        setenv(maxUnpackedSizeVariable, String(runtime.bundleSource.maxUnpackedSize.bytes), 1)
        let environment = try await EnvironmentChoice.choose(
            for: directory, bundle: URLSecrets.hidden(in: reference ?? directory.metadata.bundleName),
            runtime: runtime, logger: logger)
        let interpreter = try await runtime.startInterpreter(in: environment.python)
        await warnOfUnmetRequirements(directory.metadata, interpreter: interpreter, logger: logger)
        let codeFolder = try makeCodeFolder(for: directory)
        do {
            let bundle = try await LoadedBundle.load(directory, codeFolder: codeFolder, interpreter: interpreter)
            logger.info(
                "bundle loaded",
                metadata: [
                    "bundle": "\(directory.metadata.bundleName)",
                    "packaging_type": "\(directory.metadata.packagingType.rawValue)",
                    "load_ms": "\(bundle.loadDuration.milliseconds)",
                ])
            return BundleSession(
                interpreter: interpreter, bundle: bundle, codeFolder: codeFolder, lease: resolved.lease,
                environmentLease: environment.lease)
        } catch {
            codeFolder.map { try? FileManager.default.removeItem(at: $0) }
            throw CLIError(message: error.description)
        }
    }

    /// Refuses a cloudpickle bundle made by another Python minor version than the embedded one
    /// (it could load, then crash the process at its first predict), unless
    /// `--allow-python-mismatch`; any other mismatch is a warning.
    private static func checkPython(
        of directory: BundleDirectory, name: String, runtime: RuntimeOptions, logger: Logger
    ) throws(CLIError) {
        guard let mismatch = PythonVersionMismatch(directory.metadata) else { return }
        if mismatch.refusesLoading && !runtime.allowPythonMismatch {
            throw CLIError(message: mismatch.refusal(bundle: name))
        }
        logger.warning("\(mismatch.warning)", metadata: ["bundle": "\(name)"])
    }

    /// Logs a warning naming the bundle's requirements that the environment lacks; never fails
    /// the load (a check that cannot run is a warning too).
    private static func warnOfUnmetRequirements(
        _ metadata: BundleMetadata, interpreter: PythonInterpreter, logger: Logger
    ) async {
        do {
            if let warning = try await RequirementsCheck.warning(
                for: metadata.requirements, interpreter: interpreter)
            {
                logger.warning("\(warning)", metadata: ["bundle": "\(metadata.bundleName)"])
            }
        } catch {
            logger.warning(
                "cannot check the bundle's requirements: \(error)", metadata: ["bundle": "\(metadata.bundleName)"])
        }
    }

    /// `count` slots running the bundle, each on a Python thread of its own, that wait on what
    /// `waits` says.
    ///
    /// - Throws: ``CLIError`` when a thread cannot start.
    func makeSlots(count: Int, waits: PythonSlot.Waits = .calls) async throws(CLIError) -> [PythonSlot] {
        do {
            return try await PythonSlot.make(count: count, bundle: bundle, interpreter: interpreter, waits: waits)
        } catch {
            throw CLIError(message: "cannot start the slots' Python threads: \(error)")
        }
    }

    /// Finds the bundle folder `reference` names: a folder as it is; a `.bundle` file or URL
    /// unpacked into the cache (once, however many workers start at the same time); nil, the
    /// artifact and config llm-engine's container variables name, put together in the cache.
    static func resolve(
        _ reference: String?, options: BundleSourceOptions, logger: Logger
    ) async throws(CLIError) -> ResolvedBundle {
        let clock = ContinuousClock()
        let start = clock.now
        let resolver = options.makeResolver(logger: logger)
        let resolved: ResolvedBundle
        do {
            if let reference {
                resolved = try await resolver.resolve(reference)
            } else {
                let container = try ContainerEnvironment(environment: ProcessInfo.processInfo.environment)
                logger.info(
                    "bundle from llm-engine's container variables",
                    metadata: [
                        "BUNDLE_URL": "\(URLSecrets.hidden(in: container.bundleURL))",
                        "packaging_type": "\(container.packagingType.rawValue)",
                        "USER_CONFIG_LOCATION": "\(URLSecrets.hidden(in: container.userConfigLocation))",
                    ])
                resolved = try await resolver.resolve(container: container)
            }
        } catch let error as ArchiveError {
            throw CLIError(message: error.description)
        } catch let error as BundleError {
            throw CLIError(message: error.description)
        } catch {
            throw CLIError(
                message: "bundle \(URLSecrets.hidden(in: reference ?? "(from the environment)")): \(error)")
        }
        if let lease = resolved.lease {
            logger.info(
                lease.unpacked ? "bundle unpacked into the cache" : "bundle found in the cache",
                metadata: ["folder": "\(lease.folder.path)", "ms": "\((clock.now - start).milliseconds)"])
        }
        return resolved
    }

    /// Removes the unpacked code, if any.
    func close() {
        codeFolder.map { try? FileManager.default.removeItem(at: $0) }
        withExtendedLifetime((lease, environmentLease)) {}
    }

    /// A fresh folder for a zip bundle's code.
    private static func makeCodeFolder(for bundle: BundleDirectory) throws(CLIError) -> URL? {
        guard bundle.metadata.packagingType == .zip else { return nil }
        let folder = FileManager.default.temporaryDirectory.appending(path: "launch-worker-code-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError(message: "cannot create a folder for the bundle's code in \(folder.path): \(error)")
        }
        return folder
    }
}

import BundleArchive
import BundleEnvironment
import Foundation
import LaunchBundle
import Logging
import PythonBridge

#if canImport(Glibc)
    import Glibc
#endif

/// Makes or finds a bundle's environment (`prepare`, and `run`/`serve`/`bench` with
/// `--environment auto`): its spec from `requirements` and `env_params`, built from the
/// embedded Python with the tools of the default environment (the `.venv` scripts/setup
/// makes: its uv, its `launch_worker`).
enum EnvironmentPreparation {
    /// The environment of `directory`, built (with progress on stderr) or found in `store`.
    ///
    /// - Parameter bundle: the bundle as the user named it, for errors and the commands they suggest.
    /// - Throws: ``CLIError`` (exit 2) with what went wrong, the log's last lines, and the fix.
    static func prepare(
        _ directory: BundleDirectory, bundle: String, store: EnvironmentStore, options: EnvironmentBuildOptions,
        logger: Logger
    ) async throws(CLIError) -> EnvironmentStore.Lease {
        let processEnvironment = ProcessInfo.processInfo.environment
        let builder: EnvironmentBuilder
        let spec: EnvironmentSpec
        do {
            let host: PythonEnvironment
            (spec, host) = try plan(directory, bundle: bundle, options: options)
            builder = EnvironmentBuilder(
                installer: try Installer.find(
                    options.installer, in: [host.root.appending(path: "bin")], environment: processEnvironment,
                    bundle: bundle),
                basePython: basePython(of: host), runtimeHost: host.executable, environment: processEnvironment,
                progress: progressDisplay(logger: logger))
        } catch {
            throw CLIError(message: error.description)
        }
        do {
            return try await runBlocking { () throws -> EnvironmentStore.Lease in
                try store.prepare(spec, builder: builder, bundle: bundle)
            }
        } catch let error as EnvironmentError {
            throw CLIError(message: error.description)
        } catch {
            throw CLIError(message: "bundle \(bundle): \(error)")
        }
    }

    /// What `directory`'s environment holds (its key among it), and the default environment
    /// that provides the runtime.
    ///
    /// - Throws: ``EnvironmentError`` for `env_params` that are wrong or name a missing
    ///   framework (``FrameworkPolicy/check``), or no default environment.
    static func plan(_ directory: BundleDirectory, bundle: String, options: EnvironmentBuildOptions)
        throws(EnvironmentError) -> (spec: EnvironmentSpec, host: PythonEnvironment)
    {
        let host = try defaultEnvironment(bundle: bundle)
        let spec = try EnvironmentSpec(
            requirements: directory.metadata.requirements, envParams: directory.metadata.envParams,
            framework: options.framework, pythonVersion: PythonEnvironment.linkedVersion,
            runtimeVersion: LaunchWorker.version, runtimeSource: host.root.path, bundle: bundle)
        return (spec, host)
    }

    /// The default environment (`$LAUNCH_WORKER_PYTHON_ENV`, else the checkout's `.venv`),
    /// whose uv builds and whose `launch_worker` is linked into every environment.
    private static func defaultEnvironment(bundle: String) throws(EnvironmentError) -> PythonEnvironment {
        do {
            return try PythonEnvironment.locate(
                explicit: nil, environment: ProcessInfo.processInfo.environment,
                executablePath: CommandLine.executablePath)
        } catch {
            throw EnvironmentError(.toolMissing, bundle: bundle, reason: "cannot build its environment: \(error)")
        }
    }

    /// The Python the worker embeds, as a program: the default environment's base (`home` in
    /// its `pyvenv.cfg`), else `/usr/bin`, as `python3.<minor>`.
    private static func basePython(of host: PythonEnvironment) -> URL {
        let name = "python\(PythonEnvironment.minor(PythonEnvironment.linkedVersion))"
        let configuration = (try? String(contentsOf: host.root.appending(path: "pyvenv.cfg"), encoding: .utf8)) ?? ""
        for line in configuration.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "home" {
                let candidate = URL(filePath: parts[1]).appending(path: name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return URL(filePath: "/usr/bin").appending(path: name)
    }

    /// Shows progress: each step as a log line; on a terminal, also the installer's latest line,
    /// rewritten in place (what it resolves, downloads, installs); elsewhere those lines go only
    /// to the creation log.
    private static func progressDisplay(logger: Logger) -> @Sendable (PrepareEvent) -> Void {
        let terminal = isatty(STDERR_FILENO) == 1
        return { event in
            switch event {
            case .step(let text):
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                logger.info("environment: \(text)")
            case .output(let line) where terminal:
                FileHandle.standardError.write(Data("\r\u{1B}[K  \(line.prefix(100))".utf8))
            case .output:
                break
            }
        }
    }
}

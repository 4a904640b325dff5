import ArgumentParser
import BundleEnvironment
import Foundation
import PythonBridge

/// `launch-worker doctor`: which Python is embedded, where its environment is, what is missing,
/// and which GPUs `serve --gpus` would hand out.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the embedded Python and its environment, and say what is missing.",
        discussion: """
            With --bundle, checks the environment that bundle runs in (prepared for its requirements, as \
            run does) and the framework its env_params name: its version, and whether it sees CUDA. \
            Exit status 0 when everything the worker needs is there, 1 otherwise.
            """
    )

    @Option(help: ArgumentHelp("Check the environment of this bundle, and its framework.", valueName: "bundle"))
    var bundle: String?

    @OptionGroup var runtime: RuntimeOptions

    /// The modules the worker needs, and those only some bundles need.
    private static let modules: [(name: String, required: Bool, purpose: String)] = [
        ("launch_worker", true, "the worker's runtime (runtime/ in the checkout)"),
        ("cloudpickle", true, "unpickles cloudpickle bundles and pickled results"),
        ("yaml", true, "reads app_config YAML files (PyYAML)"),
        ("numpy", false, "used by the linear-model sample bundle"),
    ]

    func run() async throws {
        print("launch-worker \(LaunchWorker.version)")
        print("embedded Python: \(PythonEnvironment.linkedVersion) (libpython, found through pkg-config python3-embed)")
        switch GPUDevices.listed() {
        case .success(let devices) where !devices.isEmpty:
            print("GPUs: \(devices.joined(separator: ", ")) (nvidia-smi -L; serve --gpus hands them out)")
        case .success: print("GPUs: none (nvidia-smi -L lists none)")
        case .failure(let error): print("GPUs: none (\(error.message))")
        }
        let environment: PythonEnvironment
        var framework: Framework?
        var lease: EnvironmentStore.Lease?
        if let bundle {
            let logger = runtime.makeLogger()
            let resolved = try await BundleSession.resolve(bundle, options: runtime.bundleSource, logger: logger)
            let choice = try await EnvironmentChoice.choose(
                for: resolved.directory, bundle: bundle, runtime: runtime, logger: logger)
            (environment, lease) = (choice.python, choice.lease)
            framework = try Framework.named(by: resolved.directory.metadata.envParams, bundle: bundle)
        } else {
            do {
                environment = try runtime.locateEnvironment()
            } catch {
                print("Python environment: MISSING: \(error)")
                throw ExitCode.failure
            }
        }
        print("Python environment: \(environment.root.path) (from \(environment.source))")
        let interpreter = try await runtime.startInterpreter(in: environment)
        let checkedFramework = framework
        let report = try await interpreter.mainThread.run { gil in
            let sys = try gil.importModule("sys")
            var lines = [
                "  sys.executable: \(try sys.attribute("executable"))",
                "  sys.prefix: \(try sys.attribute("prefix"))",
            ]
            var missing = false
            for module in Self.modules {
                do {
                    let imported = try gil.importModule(module.name)
                    let version = (try? imported.attribute("__version__").description) ?? "(no version)"
                    let file = (try? imported.attribute("__file__").description) ?? "?"
                    lines.append("  ok       \(module.name) \(version) at \(file)")
                } catch {
                    missing = missing || module.required
                    let kind = module.required ? "MISSING " : "absent  "
                    lines.append("  \(kind) \(module.name): \(module.purpose); \(error)")
                }
            }
            if let framework = checkedFramework {
                let probe = FrameworkProbe.report(framework, gil)
                lines += probe.lines
                missing = missing || !probe.imports
            }
            return (lines, missing)
        }
        withExtendedLifetime(lease) {}
        report.0.forEach { print($0) }
        if report.1 {
            print("something the worker needs is missing: run scripts/setup")
            throw ExitCode.failure
        }
        print("everything the worker needs is there")
    }
}

import ArgumentParser
import Foundation
import PythonBridge

/// `launch-worker doctor`: which Python is embedded, where its environment is, what is missing,
/// and which GPUs `serve --gpus` would hand out.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the embedded Python and its environment, and say what is missing.",
        discussion: "Exit status 0 when everything the worker needs is there, 1 otherwise."
    )

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
        do {
            environment = try runtime.locateEnvironment()
        } catch {
            print("Python environment: MISSING: \(error)")
            throw ExitCode.failure
        }
        print("Python environment: \(environment.root.path) (from \(environment.source))")
        let interpreter = try await runtime.startInterpreter()
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
            return (lines, missing)
        }
        report.0.forEach { print($0) }
        if report.1 {
            print("something the worker needs is missing: run scripts/setup")
            throw ExitCode.failure
        }
        print("everything the worker needs is there")
    }
}

import ArgumentParser
import Foundation
import Logging
import PythonBridge

/// Options every command that runs Python shares: where the Python environment is, how much
/// to log, what bundles it loads.
struct RuntimeOptions: ParsableArguments {
    @Option(
        name: .customLong("python-env"),
        help: ArgumentHelp(
            "The Python venv to embed (default: $\(PythonEnvironment.variable), else the .venv of the checkout the executable was built in).",
            valueName: "DIR"))
    var pythonEnvironment: String?

    @Option(
        help: ArgumentHelp(
            """
            The bundle's environment: auto (a bundle with requirements runs in the environment prepare makes \
            for them, built once and cached; one without, in the default venv), none (the default venv), or a \
            venv. --python-env wins over it.
            """, valueName: "auto|none|DIR"))
    var environment: EnvironmentMode = .auto

    @OptionGroup(title: "Bundle environments") var environmentBuild: EnvironmentBuildOptions

    @Option(
        help: """
            Log level on stderr: trace, debug, info, notice, warning, error or critical \
            (default: info; bench: warning, so that no line per request scrolls over its progress).
            """)
    var logLevel: Logger.Level?

    @Flag(
        help: ArgumentHelp(
            "Load a cloudpickle bundle made by another Python minor version than the embedded one (it may crash at its first predict), with a warning, instead of refusing it."
        ))
    var allowPythonMismatch = false

    @OptionGroup var bundleSource: BundleSourceOptions

    /// Sends logs to stderr at the chosen level, or at `defaultLevel` when none was chosen;
    /// `gathering` as ``stderrLogger(level:gathering:)`` says.
    func makeLogger(defaultLevel: Logger.Level = .info, gathering: Bool = false) -> Logger {
        stderrLogger(level: logLevel ?? defaultLevel, gathering: gathering)
    }

    /// Finds the Python environment from the option, the environment, or the executable's place.
    func locateEnvironment() throws(PythonBridgeError) -> PythonEnvironment {
        try PythonEnvironment.locate(
            explicit: pythonEnvironment, environment: ProcessInfo.processInfo.environment,
            executablePath: CommandLine.executablePath)
    }

    /// Starts the embedded interpreter in `environment` (default: the one ``locateEnvironment()``
    /// finds), or fails with a message that says how to fix it.
    func startInterpreter(in environment: PythonEnvironment? = nil) async throws(CLIError) -> PythonInterpreter {
        do {
            return try await PythonInterpreter.start(environment: try environment ?? locateEnvironment())
        } catch {
            throw CLIError(message: "\(error) (launch-worker doctor says more)")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension CommandLine {
    /// This process's executable, resolved through /proc so that symlinks and PATH lookups
    /// lead to the real file.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}

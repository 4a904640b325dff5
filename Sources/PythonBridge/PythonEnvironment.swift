import CPython
import Foundation

/// The virtual environment the embedded interpreter runs in: its `sys.prefix` and site-packages.
///
/// The environment must come from the same Python as the library the worker links (Debian's
/// `/usr/bin/python3 -m venv`), or the standard library would not match the interpreter.
public struct PythonEnvironment: Sendable, Equatable {
    /// Where the environment was found, so `doctor` can say why it was picked.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// Named on the command line.
        case option
        /// Named by an environment variable.
        case environmentVariable(String)
        /// Found by walking up from the worker's executable (a `.venv` in the checkout).
        case besideExecutable
        /// Chosen for the bundle (`--environment DIR`, or the environment `prepare` made for
        /// its requirements); the text says how.
        case bundle(String)

        public var description: String {
            switch self {
            case .bundle(let how): how
            case .option: "--python-env"
            case .environmentVariable(let name): "$\(name)"
            case .besideExecutable: "the .venv next to the launch-worker checkout"
            }
        }
    }

    /// The variable that names an environment when no option does.
    public static let variable = "LAUNCH_WORKER_PYTHON_ENV"

    /// The environment's folder (the one holding `pyvenv.cfg`).
    public var root: URL
    /// How it was found.
    public var source: Source

    /// The environment's `bin/python`, which becomes `sys.executable`.
    public var executable: URL { root.appending(path: "bin/python") }

    /// Makes an environment at `root` without checking it; ``validated()`` checks it.
    public init(root: URL, source: Source) {
        self.root = root
        self.source = source
    }

    /// Finds the environment: `explicit` (an option), then `$LAUNCH_WORKER_PYTHON_ENV`, then a
    /// `.venv` in a folder above the executable.
    public static func locate(
        explicit: String?, environment: [String: String], executablePath: String
    ) throws(PythonBridgeError) -> PythonEnvironment {
        if let explicit {
            return try PythonEnvironment(root: URL(filePath: explicit), source: .option).validated()
        }
        if let named = environment[variable], !named.isEmpty {
            return try PythonEnvironment(root: URL(filePath: named), source: .environmentVariable(variable))
                .validated()
        }
        var folder = URL(filePath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appending(path: ".venv")
            if FileManager.default.fileExists(atPath: candidate.appending(path: "pyvenv.cfg").path) {
                return try PythonEnvironment(root: candidate, source: .besideExecutable).validated()
            }
            folder.deleteLastPathComponent()
        }
        throw PythonBridgeError(
            .environmentNotFound,
            """
            no Python environment found: run scripts/setup in the launch-worker checkout, \
            or name a venv made by /usr/bin/python3 -m venv with --python-env or $\(variable)
            """)
    }

    /// The Python version of the linked library, such as `3.11.2`.
    public static var linkedVersion: String {
        String(cString: Py_GetVersion()).prefix { $0 != " " }.description
    }

    /// Checks that the folder is a venv of the linked Python's minor version.
    public func validated() throws(PythonBridgeError) -> PythonEnvironment {
        let configuration = root.appending(path: "pyvenv.cfg")
        guard let text = try? String(contentsOf: configuration, encoding: .utf8) else {
            throw PythonBridgeError(
                .environmentNotFound,
                "\(root.path) (from \(source)) is not a Python venv: it has no readable pyvenv.cfg")
        }
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw PythonBridgeError(.environmentNotFound, "\(root.path) (from \(source)) has no bin/python")
        }
        if let made = Self.version(inConfiguration: text), Self.minor(made) != Self.minor(Self.linkedVersion) {
            throw PythonBridgeError(
                .environmentMismatch,
                """
                \(root.path) was made by Python \(made) but launch-worker embeds Python \
                \(Self.linkedVersion): make it with /usr/bin/python3 -m venv (scripts/setup does)
                """)
        }
        return self
    }

    private static func version(inConfiguration text: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "version" || parts[0] == "version_info" { return parts[1] }
        }
        return nil
    }

    /// `3.11` of `3.11.2`.
    public static func minor(_ version: String) -> String {
        version.split(separator: ".").prefix(2).joined(separator: ".")
    }
}

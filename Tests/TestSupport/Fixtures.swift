import Foundation
import PythonBridge

/// The fixture bundles of Tests/Fixtures/build_test_bundles.py, built once per test process.
public enum FixtureBundles {
    private static let built = Task<URL, any Error> {
        let folder = try Checkout.temporaryFolder("bundles")
        let outcome = try await runProcess(
            Checkout.python,
            [
                Checkout.root.appending(path: "Tests/Fixtures/build_test_bundles.py").path, folder.path,
                "--cloudpickle2", Checkout.venv.appending(path: "cloudpickle2").path,
            ])
        guard outcome.status == 0 else {
            throw FixtureError("build_test_bundles.py failed (\(outcome.status)): \(outcome.stderr)")
        }
        return folder
    }

    /// The folder of the fixture bundle called `name` (`function`, `zip`, `raises`, ...).
    public static func path(_ name: String) async throws -> String {
        try await built.value.appending(path: name).path
    }
}

/// The process's one interpreter, started in the checkout's venv on first use.
public enum SharedInterpreter {
    private static let started = Task<PythonInterpreter, any Error> {
        try await PythonInterpreter.start(
            environment: PythonEnvironment(root: Checkout.venv, source: .option).validated())
    }

    /// The interpreter every test in this process shares.
    public static func get() async throws -> PythonInterpreter {
        try await started.value
    }
}

/// Reads a pickle file back with the venv's Python and returns `json.dumps` of its contents.
public func unpickledJSON(at path: String) async throws -> String {
    let script = "import json, pickle, sys; print(json.dumps(pickle.load(open(sys.argv[1], 'rb'))))"
    let outcome = try await runProcess(Checkout.python, ["-c", script, path])
    guard outcome.status == 0 else { throw FixtureError("cannot read pickle \(path): \(outcome.stderr)") }
    return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A fixture that could not be made.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

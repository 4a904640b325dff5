import Foundation
import TestSupport
import Testing

/// What loading does with a bundle this worker's Python may not run: one made by another
/// Python minor version, one whose requirements are not installed.
@Suite("bundles made for another Python or environment")
struct BundleCompatibilityTests {
    /// The `python_version` a fixture's bundle.json claims.
    private func claimedPython(_ bundle: String) async throws -> String {
        let data = try Data(
            contentsOf: URL(filePath: try await FixtureBundles.path(bundle)).appending(path: "bundle.json"))
        let metadata = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(metadata["python_version"] as? String)
    }

    /// The Python the worker embeds, as `--version` names it.
    private func embeddedPython() async throws -> String {
        let version = try await launchWorker(["--version"]).stdout
        let named = try #require(version.split(separator: "embeds Python ").last)
        return String(named.prefix { $0 != ")" })
    }

    @Test("run, serve and bench refuse a cloudpickle bundle made by another Python minor, naming both and the fixes")
    func refused() async throws {
        let bundle = try await FixtureBundles.path("other-python")
        let (made, embedded) = (try await claimedPython("other-python"), try await embeddedPython())
        let spool = try Checkout.temporaryFolder("mismatch-spool")
        let readyFile = spool.appending(path: "ready")
        let commands = [
            ["run", bundle, "--args", #"{"x": 1, "y": 2}"#],
            // --exit-when-empty: a worker that loads it ends too, and the test fails instead of hanging.
            ["serve", bundle, "--queue", "spool:\(spool.path)", "--ready-file", readyFile.path, "--exit-when-empty"],
            ["bench", bundle, "--args", #"{"x": 1, "y": 2}"#, "--requests", "5"],
        ]
        for command in commands {
            let outcome = try await launchWorker(command)
            #expect(outcome.status == 2, "\(command[0]): \(outcome.stderr)")
            #expect(outcome.stdout.isEmpty, "\(command[0]) printed \(outcome.stdout)")
            let message = outcome.stderr
            #expect(message.contains("was made by Python \(made), but this worker embeds Python \(embedded)"))
            #expect(message.contains("Run it with a launch-worker that embeds Python 3.1"))
            #expect(
                message.contains(
                    "rebuild the bundle with Python \(embedded.split(separator: ".").prefix(2).joined(separator: "."))")
            )
            #expect(message.contains("--allow-python-mismatch loads it anyway"))
            #expect(!message.contains("bundle loaded"), "\(command[0]) loaded the bundle")
        }
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))
    }

    @Test("--allow-python-mismatch loads it with a warning that names both versions")
    func allowed() async throws {
        let made = try await claimedPython("other-python")
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("other-python"), "--args", #"{"x": 1, "y": 2}"#,
            "--allow-python-mismatch",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try printedResponse(outcome) == ["status": "SUCCESS", "result": #"{"sum": 3}"#])
        #expect(outcome.stderr.contains("warning"))
        #expect(outcome.stderr.contains("the bundle was made by Python \(made) but this worker embeds Python"))
    }

    @Test("a zip bundle made by another Python minor loads with a warning; another patch loads as before")
    func zipAndPatch() async throws {
        let zip = try await launchWorker([
            "run", try await FixtureBundles.path("zip-other-python"), "--args", #"{"values": [1, 1, 1]}"#,
        ])
        #expect(zip.status == 0, "\(zip.stderr)")
        #expect(zip.stderr.contains("a zip bundle's code may still run"))

        let patch = try await launchWorker([
            "run", try await FixtureBundles.path("other-patch-python"), "--args", #"{"x": 1, "y": 2}"#,
        ])
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(!patch.stderr.contains("was made by Python"))
    }

    @Test("in the default environment, a bundle whose requirements are not installed loads with a warning naming them")
    func unmetRequirements() async throws {
        // `--environment auto` would prepare an environment for them instead.
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("unmet-requirements"), "--environment", "none", "--args",
            #"{"x": 1, "y": 2}"#,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try printedResponse(outcome) == ["status": "SUCCESS", "result": #"{"sum": 3}"#])
        let warning = try #require(
            outcome.stderr.split(separator: "\n").first { $0.contains("requirements are not all installed") },
            "stderr: \(outcome.stderr)")
        #expect(warning.contains("warning"))
        #expect(warning.contains("launch-worker-no-such-dist==1.0 (not installed)"))
        #expect(warning.contains("numpy>=999 ("))
        #expect(!warning.contains("NumPy"))
        #expect(warning.contains(Checkout.venv.path))
    }
}

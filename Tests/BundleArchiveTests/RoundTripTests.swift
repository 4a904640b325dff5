import BundleArchive
import Foundation
import TestSupport
import Testing

/// `pack` → unpack → `run`, with the `launch-worker` executable, for every sample bundle, and
/// the same format written and read by Python.
@Suite("pack, unpack and run")
struct RoundTripTests {
    @Test(
        "every sample bundle answers the same from its .bundle file as from its folder", arguments: SampleBundles.names)
    func sample(_ name: String) async throws {
        let folder = try await SampleBundles.folder(name)
        let work = try Checkout.temporaryFolder("round-trip-\(name)")
        let bundle = work.appending(path: "\(name).bundle")
        let request = Checkout.root.appending(path: "sample-bundles/\(name)/example-request.json").path

        let packed = try await worker(["pack", folder.path, "-o", bundle.path])
        #expect(packed.status == 0, "\(packed.stderr)")
        #expect(packed.stdout.contains("packed \(name) into \(bundle.path)"))

        // In .venv: the samples name pytorch but use no framework, and linear-model's numpy is there.
        let fromFolder = try await worker(["run", folder.path, "--request", "@\(request)", "--environment", "none"])
        let fromFile = try await worker([
            "run", bundle.path, "--request", "@\(request)", "--cache-dir", work.appending(path: "cache").path,
            "--environment", "none",
        ])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(try response(fromFile) == response(fromFolder))
        #expect(try response(fromFile)["status"] == "SUCCESS")
        #expect(fromFile.stderr.contains("bundle unpacked into the cache"))

        let inspected = try await worker(["inspect", bundle.path, "--json"])
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any], "\(inspected.stderr)"
        )
        #expect(inspected.status == 0)
        #expect(report["bundle_name"] as? String == name)
        #expect((report["checksums"] as? [String: String])?["status"] == "verified")
        #expect((report["warnings"] as? [String])?.isEmpty == true)
    }

    @Test(
        "a .bundle written by Python's pack_bundle is inspected and run; one packed by Swift is read by unpack_bundle")
    func crossLanguage() async throws {
        let folder = try await SampleBundles.folder("text-stats")
        let work = try Checkout.temporaryFolder("cross")
        let fromPython = work.appending(path: "python.bundle")
        let pack = try await runProcess(
            Checkout.python,
            [
                "-c", "import sys; from launch_worker import pack_bundle; pack_bundle(sys.argv[1], sys.argv[2])",
                folder.path, fromPython.path,
            ])
        #expect(pack.status == 0, "\(pack.stderr)")
        let inspected = try await worker(["inspect", fromPython.path])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains("checksums:    verified (SHA256SUMS)"))
        #expect(inspected.stdout.contains("zip code bundle"))
        let ran = try await worker([
            "run", fromPython.path, "--args", #"{"text": "a b a"}"#, "--cache-dir", work.appending(path: "cache").path,
        ])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try response(ran)["result"]?.contains(#""words": 3"#) == true)

        let fromSwift = work.appending(path: "swift.bundle")
        #expect(try await worker(["pack", folder.path, "-o", fromSwift.path]).status == 0)
        let unpacked = work.appending(path: "unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let unpack = try await runProcess(
            Checkout.python,
            [
                "-c", "import sys; from launch_worker import unpack_bundle; unpack_bundle(sys.argv[1], sys.argv[2])",
                fromSwift.path, unpacked.path,
            ])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        for name in ["artifact", "bundle.json"] {
            #expect(
                try Data(contentsOf: unpacked.appending(path: name)) == Data(contentsOf: folder.appending(path: name)))
        }
    }

    @Test("inspect warns when the bundle was made by another Python minor version")
    func pythonMismatch() async throws {
        let source = try await SampleBundles.folder("arithmetic")
        let folder = try Checkout.temporaryFolder("py-mismatch").appending(path: "old")
        try FileManager.default.copyItem(at: source, to: folder)
        let metadataFile = folder.appending(path: "bundle.json")
        var metadata = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: metadataFile)) as? [String: Any])
        metadata["python_version"] = "3.9.18"
        try JSONSerialization.data(withJSONObject: metadata).write(to: metadataFile)
        let outcome = try await worker(["inspect", folder.path])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("made by 3.9.18"))
        #expect(outcome.stderr.contains("warning: the bundle was made by Python 3.9.18"))
        #expect(outcome.stderr.contains("cloudpickle needs the same minor version"))
    }
}

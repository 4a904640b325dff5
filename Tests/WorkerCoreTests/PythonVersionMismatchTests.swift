import Foundation
import LaunchBundle
import Testing
import WorkerCore

@Suite("PythonVersionMismatch: a bundle made by another Python minor version")
struct PythonVersionMismatchTests {
    private func metadata(_ packaging: String, python: String?) throws -> BundleMetadata {
        var object: [String: Any] = [
            "packaging_type": packaging, "bundle_name": "b",
            "bundle_metadata": ["load_predict_fn_module_path": "m.p", "load_model_fn_module_path": "m.l"],
        ]
        object["python_version"] = python
        return try BundleMetadata(json: try JSONSerialization.data(withJSONObject: object), bundle: "b")
    }

    @Test("only major.minor counts, and a bundle that does not say is never a mismatch")
    func comparison() throws {
        #expect(PythonVersionMismatch(try metadata("cloudpickle", python: "3.11.9"), embedded: "3.11.2") == nil)
        #expect(PythonVersionMismatch(try metadata("cloudpickle", python: "3.11"), embedded: "3.11.2") == nil)
        #expect(PythonVersionMismatch(try metadata("cloudpickle", python: nil), embedded: "3.11.2") == nil)
        #expect(PythonVersionMismatch(try metadata("cloudpickle", python: "3.1.2"), embedded: "3.11.2") != nil)
        #expect(PythonVersionMismatch(try metadata("cloudpickle", python: "3.12.1"), embedded: "3.11.2") != nil)
    }

    @Test("a cloudpickle bundle is refused, naming both versions and the fixes; a zip bundle is a warning")
    func refusal() throws {
        let pickled = try #require(
            PythonVersionMismatch(try metadata("cloudpickle", python: "3.12.1"), embedded: "3.11.2"))
        #expect(pickled.refusesLoading)
        let refusal = pickled.refusal(bundle: "b.bundle")
        #expect(refusal.contains("bundle b.bundle was made by Python 3.12.1, but this worker embeds Python 3.11.2"))
        #expect(refusal.contains("a launch-worker that embeds Python 3.12"))
        #expect(refusal.contains("rebuild the bundle with Python 3.11"))
        #expect(refusal.contains("--allow-python-mismatch"))

        let zip = try #require(PythonVersionMismatch(try metadata("zip", python: "3.12.1"), embedded: "3.11.2"))
        #expect(!zip.refusesLoading)
        #expect(zip.warning.contains("a zip bundle's code may still run, but check it supports Python 3.11"))
    }
}

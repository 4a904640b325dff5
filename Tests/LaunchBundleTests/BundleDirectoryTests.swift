import Foundation
import LaunchBundle
import Testing

@Suite("Bundle folders")
struct BundleDirectoryTests {
    private func makeFolder(metadata: String?, artifact: Bool) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "bundle-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let metadata {
            try metadata.write(to: folder.appending(path: "bundle.json"), atomically: true, encoding: .utf8)
        }
        if artifact { try Data([1, 2, 3]).write(to: folder.appending(path: "artifact")) }
        return folder
    }

    @Test("a folder with bundle.json and artifact opens")
    func opens() throws {
        let folder = try makeFolder(metadata: #"{"packaging_type": "cloudpickle", "bundle_name": "b"}"#, artifact: true)
        let bundle = try BundleDirectory(path: folder.path)
        #expect(bundle.metadata.bundleName == "b")
        #expect(bundle.artifact.lastPathComponent == "artifact")
    }

    @Test("a missing artifact is named")
    func missingArtifact() throws {
        let folder = try makeFolder(
            metadata: #"{"packaging_type": "cloudpickle", "bundle_name": "b"}"#, artifact: false)
        let error = #expect(throws: BundleError.self) { try BundleDirectory(path: folder.path) }
        #expect(error?.code == .missingFile)
        #expect(error?.description.contains("artifact") == true)
    }

    @Test("a missing bundle.json is named")
    func missingMetadata() throws {
        let folder = try makeFolder(metadata: nil, artifact: true)
        let error = #expect(throws: BundleError.self) { try BundleDirectory(path: folder.path) }
        #expect(error?.description.contains("bundle.json") == true)
    }

    @Test("a path that does not exist, or is a file, is refused")
    func notAFolder() throws {
        #expect(throws: BundleError.self) { try BundleDirectory(path: "/no/such/bundle") }
        let folder = try makeFolder(metadata: nil, artifact: true)
        #expect(throws: BundleError.self) { try BundleDirectory(path: folder.appending(path: "artifact").path) }
    }
}

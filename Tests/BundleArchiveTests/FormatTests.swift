import Foundation
import LaunchBundle
import TestSupport
import Testing

@testable import BundleArchive

/// The format's pieces, without processes.
@Suite("tar, zstd and the .bundle format")
struct FormatTests {
    @Test("a tar stream round-trips through zstd, with a pax record for a long name")
    func tarRoundTrip() throws {
        let archive = try Checkout.temporaryFolder("tar").appending(path: "t.tar.zst")
        let longName = String(repeating: "n", count: 150)
        try writeArchive([file(longName, Array("long".utf8)), file("short", [])], to: archive)
        let reader = TarReader(
            from: ZstdDecompressor(from: try FileStream.reading(archive.path, bundle: "t"), bundle: "t"), bundle: "t")
        let first = try #require(try reader.next())
        #expect(first.name == longName)
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try buffer.withUnsafeMutableBytes { try reader.readData(into: $0, entry: first.name) }
        #expect(Array(buffer.prefix(count)) == Array("long".utf8))
        #expect(try reader.next()?.name == "short")
        #expect(try reader.next() == nil)
    }

    @Test("pack then unpack gives the folder back, and the key depends only on the contents")
    func packUnpack() throws {
        let work = try Checkout.temporaryFolder("pack-unpack")
        let folder = work.appending(path: "b")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(plainMetadata).write(to: folder.appending(path: "bundle.json"))
        try Data("artifact".utf8).write(to: folder.appending(path: "artifact"))
        let directory = try BundleDirectory(path: folder.path)
        let fast = try BundlePacker.pack(directory, to: work.appending(path: "fast.bundle"), level: 1)
        let small = try BundlePacker.pack(directory, to: work.appending(path: "small.bundle"), level: 19)
        #expect(fast.checksums.key == small.checksums.key)
        let target = work.appending(path: "out")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try BundleUnpacker.unpack(fast.file, into: target, bundle: "fast", limits: .standard)
        #expect(try Data(contentsOf: target.appending(path: "artifact")) == Data("artifact".utf8))
        #expect(try String(contentsOf: target.appending(path: "SHA256SUMS"), encoding: .utf8) == fast.checksums.text)
    }

    @Test("pack refuses a folder whose artifact differs from its recorded artifact_sha256")
    func packChecksRecordedDigest() throws {
        let folder = try Checkout.temporaryFolder("recorded")
        let metadata =
            #"{"packaging_type": "cloudpickle", "bundle_name": "b", "artifact_sha256": "\#(String(repeating: "0", count: 64))"}"#
        try Data(metadata.utf8).write(to: folder.appending(path: "bundle.json"))
        try Data("x".utf8).write(to: folder.appending(path: "artifact"))
        #expect(throws: ArchiveError.self) {
            try BundlePacker.pack(try BundleDirectory(path: folder.path), to: folder.appending(path: "x.bundle"))
        }
    }

    @Test("bundle arguments: paths, file://, http(s)://, and other schemes refused")
    func locations() throws {
        #expect(try BundleLocation("dist/a.bundle") == .path("dist/a.bundle"))
        #expect(try BundleLocation("file:///tmp/a%20b.bundle") == .path("/tmp/a b.bundle"))
        #expect(
            try BundleLocation("https://example.com/a.bundle") == .remote(URL(string: "https://example.com/a.bundle")!))
        #expect(throws: ArchiveError.self) { try BundleLocation("s3://bucket/a.bundle") }
    }

    @Test("sizes parse with binary suffixes and print readably")
    func byteCounts() {
        #expect(ByteCount.parse("1024") == 1024)
        #expect(ByteCount.parse("1M") == 1 << 20)
        #expect(ByteCount.parse("2GiB") == 2 << 30)
        #expect(ByteCount.parse("x") == nil)
        #expect(ByteCount.format(1536) == "1.5 KiB")
        #expect(ByteCount.format(7) == "7 bytes")
    }

    @Test("links are judged by where they resolve")
    func linkTargets() {
        #expect(EntryPolicy.pointsOutside(link: ["a", "b"], target: "../c") == false)
        #expect(EntryPolicy.pointsOutside(link: ["a", "b"], target: "../../c") == true)
        #expect(EntryPolicy.pointsOutside(link: ["a"], target: "/etc/passwd") == true)
    }

    @Test("the container variables: defaults, and the base64 config file")
    func containerEnvironment() throws {
        let base = try Checkout.temporaryFolder("app")
        try Data(Data(#"{"k": 1}"#.utf8).base64EncodedString().utf8).write(to: base.appending(path: "user_config"))
        let environment = try ContainerEnvironment(environment: [
            "BUNDLE_URL": "file:///x/model.zip", "BASE_PATH": base.path,
        ])
        #expect(environment.packagingType == .cloudpickle)
        #expect(environment.userConfigLocation == base.appending(path: "user_config").path)
        let metadata = try BundleMetadata(json: try environment.metadataJSON(artifactSHA256: "ab"), bundle: "env")
        #expect(metadata.appConfigJSON == #"{"k":1}"#)
        #expect(metadata.bundleName == "model.zip")
    }
}

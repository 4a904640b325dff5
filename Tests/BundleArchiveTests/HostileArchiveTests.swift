import Foundation
import TestSupport
import Testing

@testable import BundleArchive

/// Archives built by the tests to attack the unpacker: each must be refused with an error that
/// names the bundle and the entry, write nothing outside the cache, and leave no partial folder.
@Suite("hostile .bundle files")
struct HostileArchiveTests {
    /// One attack: the archive's entries (after a valid SHA256SUMS and bundle.json, unless it
    /// replaces them), the entry the error must name, and words of the reason.
    enum Attack: String, CaseIterable, Sendable {
        case absolutePath, dotDot, symlinkOutside, symlinkOutsideRelative, hardLink, characterDevice, blockDevice
        case fifo, duplicateEntry, extraEntry, decompressionBomb, checksumMismatch, truncated, notZstd

        /// The entries and what the error must say; `escape` is a path outside the cache the
        /// attack aims at.
        func archive(escape: URL) -> (entries: [(TarEntry, [UInt8])], entry: String?, reason: String) {
            let artifact: [UInt8] = Array("artifact".utf8)
            let valid = [file("SHA256SUMS", sums(artifact: artifact)), file("bundle.json", plainMetadata)]
            switch self {
            case .absolutePath:
                return (valid + [file(escape.path, artifact)], escape.path, "absolute name")
            case .dotDot:
                return (
                    valid + [file("../../\(escape.lastPathComponent)", artifact)], "../../\(escape.lastPathComponent)",
                    "'..' component"
                )
            case .symlinkOutside:
                return (
                    valid + [(TarEntry(name: "artifact", kind: .symbolicLink, linkTarget: escape.path), [])],
                    "artifact", "symbolic link pointing outside"
                )
            case .symlinkOutsideRelative:
                return (
                    valid + [(TarEntry(name: "artifact", kind: .symbolicLink, linkTarget: "../../../etc/passwd"), [])],
                    "artifact", "symbolic link pointing outside"
                )
            case .hardLink:
                return (
                    valid + [(TarEntry(name: "artifact", kind: .hardLink, linkTarget: escape.path), [])], "artifact",
                    "hard link"
                )
            case .characterDevice:
                return (valid + [(TarEntry(name: "artifact", kind: .characterDevice), [])], "artifact", "device file")
            case .blockDevice:
                return (valid + [(TarEntry(name: "artifact", kind: .blockDevice), [])], "artifact", "device file")
            case .fifo:
                return (valid + [(TarEntry(name: "artifact", kind: .fifo), [])], "artifact", "FIFO")
            case .duplicateEntry:
                return (
                    valid + [file("bundle.json", plainMetadata), file("artifact", artifact)], "bundle.json",
                    "appears twice"
                )
            case .extraEntry:
                return (
                    valid + [file("artifact", artifact), file("run-me.sh", artifact)], "run-me.sh",
                    "not part of a .bundle"
                )
            case .decompressionBomb:
                // 4 MiB of zeros compress to a few hundred bytes; the limit is 1 MiB.
                let zeros = [UInt8](repeating: 0, count: 4 << 20)
                return (
                    [
                        file("SHA256SUMS", sums(artifact: zeros)), file("bundle.json", plainMetadata),
                        file("artifact", zeros),
                    ], "artifact", "over the limit of 1.0 MiB"
                )
            case .checksumMismatch:
                return (valid + [file("artifact", Array("tampered".utf8))], "artifact", "but SHA256SUMS records")
            case .truncated, .notZstd:
                return (
                    valid + [file("artifact", artifact)], nil,
                    self == .truncated ? "truncated" : "not a valid zstd stream"
                )
            }
        }
    }

    @Test(
        "each attack is refused naming the bundle and entry; nothing lands outside the cache, no partial folder stays",
        arguments: Attack.allCases)
    func refused(_ attack: Attack) async throws {
        let folder = try Checkout.temporaryFolder("hostile-\(attack.rawValue)")
        let outside = try Checkout.temporaryFolder("outside")
        let escape = outside.appending(path: "escaped-\(attack.rawValue)")
        let cache = folder.appending(path: "cache")
        let bundle = folder.appending(path: "hostile.bundle")
        let (entries, entry, reason) = attack.archive(escape: escape)
        try writeArchive(entries, to: bundle)
        if attack == .truncated {
            let data = try Data(contentsOf: bundle)
            try data.prefix(data.count - 20).write(to: bundle)
        } else if attack == .notZstd {
            try Data("this is not a bundle".utf8).write(to: bundle)
        }

        let outcome = try await worker([
            "run", bundle.path, "--cache-dir", cache.path, "--max-unpacked-size", "1M", "--args", "{}",
        ])

        #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("bundle \(bundle.path)"), "stderr: \(outcome.stderr)")
        if let entry { #expect(outcome.stderr.contains("entry '\(entry)'"), "stderr: \(outcome.stderr)") }
        #expect(outcome.stderr.contains(reason), "stderr: \(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: escape.path))
        #expect(names(in: outside).isEmpty)
        // A stream refused before its key is read never reaches the cache.
        #expect(names(in: folder).filter { $0 != "cache" } == ["hostile.bundle"])
        #expect(Set(names(in: cache)).isSubset(of: [".downloads", ".locks"]), "partial or escaped files in the cache")
        #expect(names(in: cache.appending(path: ".downloads")).isEmpty)
    }

    @Test("inspect refuses the same archives, exit 2, and reports a checksum mismatch, exit 1")
    func inspect() async throws {
        let folder = try Checkout.temporaryFolder("hostile-inspect")
        for attack in [Attack.hardLink, .dotDot, .checksumMismatch] {
            let bundle = folder.appending(path: "\(attack.rawValue).bundle")
            let (entries, entry, _) = attack.archive(escape: folder.appending(path: "escaped"))
            try writeArchive(entries, to: bundle)
            let outcome = try await worker(["inspect", bundle.path])
            #expect(outcome.status == (attack == .checksumMismatch ? 1 : 2), "\(attack): \(outcome.stderr)")
            #expect((outcome.stdout + outcome.stderr).contains("entry '\(entry!)'"))
        }
    }
}

/// Zip code bundles whose zip attacks the code folder (zip-slip), through `launch-worker run`.
@Suite("hostile zip code bundles")
struct HostileZipTests {
    /// Writes a zip bundle folder whose artifact holds `entries` (Python's zipfile, raw names
    /// and modes as given).
    static func zipBundle(_ entries: [[String: String]], in folder: URL) async throws -> URL {
        let bundle = folder.appending(path: "zip-bundle")
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
        let metadata = """
            {"packaging_type": "zip", "bundle_name": "zip-slip", "env_params": {}, "bundle_metadata": {
             "load_predict_fn_module_path": "pkg.service.load_predict", "load_model_fn_module_path": "pkg.service.load_model"}}
            """
        try Data(metadata.utf8).write(to: bundle.appending(path: "bundle.json"))
        let script = """
            import json, stat, sys, warnings, zipfile
            warnings.simplefilter("ignore")
            kinds = {"file": stat.S_IFREG, "link": stat.S_IFLNK, "fifo": stat.S_IFIFO, "device": stat.S_IFCHR}
            with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as archive:
                for entry in json.loads(sys.argv[2]):
                    info = zipfile.ZipInfo(entry["name"])
                    info.external_attr = (kinds[entry.get("kind", "file")] | 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, entry.get("data", "") * int(entry.get("repeat", "1")))
            """
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: entries), as: UTF8.self)
        let outcome = try await runProcess(
            Checkout.python, ["-c", script, bundle.appending(path: "artifact").path, spec])
        guard outcome.status == 0 else { throw FixtureError("cannot make the zip: \(outcome.stderr)") }
        return bundle
    }

    @Test(
        "each zip-slip attack is refused naming the entry, and nothing is written outside",
        arguments: [
            ("absolute", "/ESCAPE/pwned.py", "file", "an absolute name"),
            ("dot-dot", "pkg/../../ESCAPE-NAME", "file", "a '..' component"),
            ("symlink", "pkg/link", "link", "a symbolic link"),
            ("fifo", "pkg/fifo", "fifo", "a FIFO"),
            ("device", "pkg/dev", "device", "a device file"),
            ("duplicate", "pkg/service.py", "file", "a name that appears twice"),
            ("bomb", "pkg/zeros.bin", "file", "over the limit of 1048576 bytes"),
        ])
    func refused(_ attack: (String, String, String, String)) async throws {
        let (label, rawName, kind, reason) = attack
        let folder = try Checkout.temporaryFolder("zip-slip-\(label)")
        let outside = try Checkout.temporaryFolder("zip-outside")
        let name = rawName.replacingOccurrences(of: "/ESCAPE", with: outside.path)
            .replacingOccurrences(of: "ESCAPE-NAME", with: "\(outside.lastPathComponent)-pwned")
        var entries: [[String: String]] = [
            ["name": "pkg/__init__.py"],
            [
                "name": "pkg/service.py",
                "data": "def load_model(c): return 1\ndef load_predict(c, m): return lambda: 1\n",
            ],
        ]
        entries.append(
            label == "bomb"
                ? ["name": name, "data": "0", "repeat": String(2 << 20)] : ["name": name, "kind": kind, "data": "x"])
        let bundle = try await Self.zipBundle(entries, in: folder)

        let outcome = try await worker(["run", bundle.path, "--max-unpacked-size", "1M", "--args", "{}"])

        #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains(bundle.path), "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("holds the entry '\(name)'"), "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains(reason), "stderr: \(outcome.stderr)")
        #expect(names(in: outside).isEmpty)
        #expect(
            !FileManager.default.fileExists(
                atPath: folder.deletingLastPathComponent().appending(path: "\(outside.lastPathComponent)-pwned").path))
    }
}

import Foundation
import TestSupport
import Testing

/// A 1 GiB artifact packs and unpacks with flat memory.
///
/// Peak memory is measured honestly from outside: each `launch-worker` runs as the only child
/// of a small Python wrapper, which prints `getrusage(RUSAGE_CHILDREN).ru_maxrss` (the child's
/// peak resident set, in KiB, as the kernel counted it) after the child exits. Measuring in the
/// test process itself would mix in every other child the parallel tests start.
@Suite("a 1 GiB artifact")
struct LargeArtifactTests {
    static let size: UInt64 = 1 << 30
    /// Generous: the streaming code holds a few MiB; the executable and its libraries add tens.
    static let peakLimitKiB = 200 * 1024

    /// Runs `launch-worker` under the wrapper; returns its outcome and peak RSS in KiB.
    func measured(_ arguments: [String]) async throws -> (ProcessOutcome, Int) {
        let wrapper = """
            import resource, subprocess, sys
            status = subprocess.run(sys.argv[1:]).returncode
            print("peak-rss-kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
            sys.exit(status)
            """
        let outcome = try await runProcess(Checkout.python, ["-c", wrapper, Checkout.executable.path] + arguments)
        let line = try #require(outcome.stdout.split(separator: "\n").last { $0.hasPrefix("peak-rss-kib ") })
        return (outcome, try #require(Int(line.split(separator: " ")[1])))
    }

    @Test("a sparse 1 GiB artifact packs and unpacks into the cache with a bounded peak RSS")
    func flatMemory() async throws {
        let work = try Checkout.temporaryFolder("large")
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = work.appending(path: "big")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(#"{"packaging_type": "cloudpickle", "bundle_name": "big", "env_params": {}}"#.utf8)
            .write(to: folder.appending(path: "bundle.json"))
        let artifact = folder.appending(path: "artifact")
        _ = FileManager.default.createFile(atPath: artifact.path, contents: nil)
        let handle = try FileHandle(forWritingTo: artifact)
        try handle.truncate(atOffset: Self.size)  // Sparse: no disk used, reads as zeros.
        try handle.close()

        let bundle = work.appending(path: "big.bundle")
        let (packed, packPeak) = try await measured(["pack", folder.path, "-o", bundle.path])
        #expect(packed.status == 0, "\(packed.stderr)")
        #expect(packPeak < Self.peakLimitKiB, "pack peaked at \(packPeak) KiB")
        let key = try #require(packed.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init))

        let cache = work.appending(path: "cache")
        let (added, unpackPeak) = try await measured(["cache", "add", bundle.path, "--cache-dir", cache.path])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(unpackPeak < Self.peakLimitKiB, "unpack peaked at \(unpackPeak) KiB")

        let unpacked = cache.appending(path: "\(key)/artifact")
        let attributes = try FileManager.default.attributesOfItem(atPath: unpacked.path)
        #expect((attributes[.size] as? NSNumber)?.uint64Value == Self.size)
        let compare = try await runProcess(URL(filePath: "/usr/bin/cmp"), [artifact.path, unpacked.path])
        #expect(compare.status == 0, "\(compare.stdout)")
    }
}

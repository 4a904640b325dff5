import BundleArchive
import Foundation
import TestSupport
import Testing

/// The content-addressed cache, with real processes.
@Suite("the bundle cache")
struct CacheTests {
    @Test("two run processes on the same new bundle at once both succeed, and only one unpacks it")
    func concurrentRuns() async throws {
        let work = try Checkout.temporaryFolder("concurrent")
        let bundle = work.appending(path: "greeter.bundle")
        #expect(
            try await worker(["pack", try await SampleBundles.folder("greeter").path, "-o", bundle.path]).status == 0)
        let cache = work.appending(path: "cache")
        let arguments = ["run", bundle.path, "--args", #"{"name": "Ada"}"#]
        async let first = worker(arguments, environment: ["LAUNCH_WORKER_CACHE_DIR": cache.path])
        async let second = worker(arguments, environment: ["LAUNCH_WORKER_CACHE_DIR": cache.path])
        let outcomes = try await [first, second]
        for outcome in outcomes {
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(try response(outcome)["status"] == "SUCCESS")
        }
        let unpacked = outcomes.filter { $0.stderr.contains("bundle unpacked into the cache") }
        let found = outcomes.filter { $0.stderr.contains("bundle found in the cache") }
        #expect(unpacked.count == 1)
        #expect(found.count == 1)
        let entries = names(in: cache).filter { !$0.hasPrefix(".") }
        #expect(entries.count == 1)
        #expect(names(in: cache).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    @Test("cache add, list and prune")
    func listAndPrune() async throws {
        let work = try Checkout.temporaryFolder("cache-commands")
        let cache = work.appending(path: "cache").path
        let bundle = work.appending(path: "arithmetic.bundle")
        let packed = try await worker(["pack", try await SampleBundles.folder("arithmetic").path, "-o", bundle.path])
        let key = try #require(
            packed.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })

        let added = try await worker(["cache", "add", bundle.path, "--cache-dir", cache])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(cache)/\(key)")
        let again = try await worker(["cache", "add", bundle.path, "--cache-dir", cache])
        #expect(again.stderr.contains("bundle found in the cache"))

        let listed = try await worker(["cache", "list", "--json", "--cache-dir", cache])
        let entry = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any], "\(listed.stdout)")
        #expect(entry["key"] as? String == key)
        #expect(entry["bundle_name"] as? String == "arithmetic")
        #expect(entry["in_use"] as? Bool == false)

        // A leftover of a process killed mid-unpack, and a recently used entry kept by --unused-for.
        try FileManager.default.createDirectory(
            atPath: "\(cache)/.tmp-\(key)-dead", withIntermediateDirectories: true)
        let kept = try await worker(["cache", "prune", "--unused-for", "1d", "--cache-dir", cache])
        #expect(kept.stdout.contains("removed 0 bundles"))
        #expect(kept.stdout.contains("and 1 leftovers"))
        let pruned = try await worker(["cache", "prune", "--cache-dir", cache])
        #expect(pruned.stdout.contains("removed \(key)"))
        #expect(names(in: URL(filePath: cache)).filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test("prune leaves alone a bundle a running process holds")
    func pruneSkipsInUse() async throws {
        let work = try Checkout.temporaryFolder("cache-in-use")
        let cache = BundleCache(root: work.appending(path: "cache"))
        let key = String(repeating: "ab", count: 32)
        let lease = try cache.acquire(key: key, bundle: "test") { folder in
            try Data("{}".utf8).write(to: folder.appending(path: "bundle.json"))
        }
        #expect(lease.unpacked)
        let outcome = try await worker(["cache", "prune", "--cache-dir", cache.root.path])
        #expect(outcome.stdout.contains("kept \(key)"), "\(outcome.stdout)")
        #expect(FileManager.default.fileExists(atPath: lease.folder.path))
        withExtendedLifetime(lease) {}
    }
}

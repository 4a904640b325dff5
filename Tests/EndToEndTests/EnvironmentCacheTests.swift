import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("cache list and prune of bundle environments")
struct EnvironmentCacheTests {
    @Test(
        "list shows environments (requirements, size, in use); prune removes those unused with their logs, never one in use"
    )
    func listAndPrune() async throws {
        let fixture = try EnvironmentFixture("cache")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        try await fixture.makeWheel("otherpkg", "1.0.0")
        try await fixture.makeWheel("torch", "1.7.1")
        let used = try await fixture.makeBundle("used", requirements: ["tinypkg", "torch"])
        let unused = try await fixture.makeBundle("unused", module: "otherpkg", requirements: ["otherpkg", "torch"])
        let usedFolder = try await prepare(used, fixture).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let unusedFolder = try await prepare(unused, fixture).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fixture.readyEnvironments.count == 2)

        // A worker holds the first environment while it serves.
        let spool = try Checkout.temporaryFolder("env-cache-spool")
        let ready = spool.appending(path: "ready")
        let worker = try LaunchedProcess(
            Checkout.executable,
            [
                "serve", used, "--cache-dir", fixture.cache.path, "--queue", "spool:\(spool.path)/queue",
                "--ready-file", ready.path,
            ], environment: fixture.environment())
        try await eventually("the worker is ready") { FileManager.default.fileExists(atPath: ready.path) }

        let listed = try await launchWorker(["cache", "list", "--json", "--cache-dir", fixture.cache.path])
        let entries = try listed.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let environments = entries.filter { $0["kind"] as? String == "environment" }
        #expect(environments.count == 2, "\(listed.stdout)")
        let inUse = try #require(environments.first { $0["folder"] as? String == usedFolder })
        #expect(inUse["in_use"] as? Bool == true)
        #expect((inUse["requirements"] as? [String])?.contains("tinypkg") == true)
        #expect((inUse["size"] as? Int ?? 0) > 0)
        let idle = try #require(environments.first { $0["folder"] as? String == unusedFolder })
        #expect(idle["in_use"] as? Bool == false)
        let table = try await launchWorker(["cache", "list", "--cache-dir", fixture.cache.path])
        #expect(table.stdout.contains("environment  "))
        #expect(table.stdout.contains("in use"))

        // A leftover of a build killed mid-install.
        let unusedKey = URL(filePath: unusedFolder).lastPathComponent
        try FileManager.default.createDirectory(
            at: fixture.environments.appending(path: ".tmp-\(unusedKey)-dead"), withIntermediateDirectories: true)
        // The log of a build that failed: no environment beside it.
        let failedLog = fixture.environments.appending(path: "\(String(repeating: "0", count: 64)).log")
        try Data("== failed\n".utf8).write(to: failedLog)
        let pruned = try await launchWorker(["cache", "prune", "--cache-dir", fixture.cache.path])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("removed environment \(unusedKey)"))
        #expect(pruned.stdout.contains("kept environment \(URL(filePath: usedFolder).lastPathComponent): in use"))
        #expect(pruned.stdout.contains("1 environments"))
        #expect(FileManager.default.fileExists(atPath: usedFolder))
        #expect(!FileManager.default.fileExists(atPath: unusedFolder))
        #expect(!fixture.environmentNames.contains("\(unusedKey).log"))
        #expect(!fixture.environmentNames.contains { $0.hasPrefix(".tmp-") })
        #expect(!FileManager.default.fileExists(atPath: failedLog.path))
        #expect(pruned.stdout.contains("and 2 leftovers"))

        worker.send(SIGTERM)
        #expect(try await worker.exitStatus(within: .seconds(120)) == 0)
        let afterwards = try await launchWorker(["cache", "prune", "--cache-dir", fixture.cache.path])
        #expect(afterwards.stdout.contains("removed environment \(URL(filePath: usedFolder).lastPathComponent)"))
        #expect(fixture.readyEnvironments.isEmpty)
    }
}

import Foundation
import TestSupport
import Testing
import WorkerCore

/// Resident memory of this process, from /proc/self/statm.
private func residentBytes() throws -> Int {
    let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

@Suite("Reference counting", .serialized)
struct ReferenceCountingTests {
    private static let calls = 100_000
    private static let allowedGrowth = 4 << 20

    @Test("100,000 calls of a trivial predict grow memory by a few MiB at most")
    func oneThread() async throws {
        let harness = try await Harness("trivial")
        let request = try PredictRequest(json: Array(#"{"args": {"x": "a string of some length"}}"#.utf8))
        for _ in 0..<1_000 { _ = try await harness.execute(request, taskID: "warm") }
        let before = try residentBytes()
        for _ in 0..<Self.calls {
            let response = try await harness.execute(request, taskID: "t")
            guard response.response.status == .success else { Issue.record("\(response.response)"); return }
        }
        let growth = try residentBytes() - before
        #expect(growth < Self.allowedGrowth, "grew by \(growth) bytes")
    }

    @Test("the same from four threads at once")
    func fourThreads() async throws {
        let harnesses = try await (0..<4).asyncMap { _ in try await Harness("trivial") }
        let request = try PredictRequest(json: Array(#"{"args": {"x": [1, 2, 3]}}"#.utf8))
        try await Self.hammer(harnesses, request, calls: 1_000)
        let before = try residentBytes()
        try await Self.hammer(harnesses, request, calls: Self.calls / harnesses.count)
        let growth = try residentBytes() - before
        #expect(growth < Self.allowedGrowth, "grew by \(growth) bytes")
    }

    private static func hammer(_ harnesses: [Harness], _ request: PredictRequest, calls: Int) async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for harness in harnesses {
                group.addTask {
                    var successes = 0
                    for _ in 0..<calls {
                        let response = try await harness.execute(request, taskID: "t")
                        if response.response == .success(result: "[1, 2, 3]") { successes += 1 }
                    }
                    return successes
                }
            }
            var total = 0
            for try await successes in group { total += successes }
            #expect(total == calls * harnesses.count)
        }
    }
}

extension Range where Bound == Int {
    fileprivate func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for index in self { mapped.append(try await transform(index)) }
        return mapped
    }
}

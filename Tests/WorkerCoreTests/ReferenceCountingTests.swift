import Foundation
import TestSupport
import Testing
import WorkerCore

/// Resident memory of this process, from /proc/self/statm.
private func residentBytes() throws -> Int {
    let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Whether calls leak: resident memory must not grow with the number of calls. It is this test
/// process's memory, which suites running beside these also use; a leak grows it in every round,
/// while another suite's allocations land in some, so each test keeps its smallest round.
@Suite("Reference counting", .serialized)
struct ReferenceCountingTests {
    private static let calls = 50_000
    private static let rounds = 3
    /// A leak of the smallest object a call makes (its input or result string, about 70 bytes)
    /// is 3.5 MB over a round.
    private static let allowedGrowth = 3 << 20

    @Test("50,000 calls of a trivial predict grow memory by a few MiB at most")
    func oneThread() async throws {
        let harness = try await Harness("trivial")
        let request = try PredictRequest(json: Array(#"{"args": {"x": "a string of some length"}}"#.utf8))
        for _ in 0..<1_000 { _ = try await harness.execute(request, taskID: "warm") }
        let growth = try await Self.smallestGrowth {
            for _ in 0..<Self.calls {
                let response = try await harness.execute(request, taskID: "t")
                guard response.response.status == .success else { Issue.record("\(response.response)"); return }
            }
        }
        #expect(growth < Self.allowedGrowth, "grew by \(growth) bytes")
    }

    @Test("the same from four threads at once")
    func fourThreads() async throws {
        let harnesses = try await (0..<4).asyncMap { _ in try await Harness("trivial") }
        let request = try PredictRequest(json: Array(#"{"args": {"x": [1, 2, 3]}}"#.utf8))
        try await Self.hammer(harnesses, request, calls: 1_000)
        let growth = try await Self.smallestGrowth {
            try await Self.hammer(harnesses, request, calls: Self.calls / harnesses.count)
        }
        #expect(growth < Self.allowedGrowth, "grew by \(growth) bytes")
    }

    /// The smallest growth of resident memory over `rounds` runs of `round`.
    private static func smallestGrowth(_ round: () async throws -> Void) async throws -> Int {
        var smallest = Int.max
        for _ in 0..<rounds {
            let before = try residentBytes()
            try await round()
            smallest = min(smallest, try residentBytes() - before)
        }
        return smallest
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

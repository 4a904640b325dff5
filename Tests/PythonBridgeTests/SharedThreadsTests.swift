import PythonBridge
import Synchronization
import TestSupport
import Testing

/// Several Python threads sharing one queue: short work stays on one thread, work that releases
/// the GIL spreads over all of them.
@Suite("Python threads sharing one queue")
struct SharedThreadsTests {
    /// The calling Python thread's `threading.get_ident()`.
    private static let ident: @Sendable (GIL) throws -> String = { gil in
        try gil.importModule("threading").attribute("get_ident").call().description
    }

    /// `int(text)` in Python.
    private static func int(_ text: String, _ gil: GIL) throws -> PythonObject {
        try gil.importModule("builtins").attribute("int").call(try gil.string(text))
    }

    @Test("short jobs from many callers run back to back on one thread, however many threads there are")
    func shortJobsStayOnOneThread() async throws {
        let interpreter = try await SharedInterpreter.get()
        // A takeover far longer than any job here: no job is ever seen as long.
        let threads = try await interpreter.makeThreads(name: "test-hot", count: 4, takeover: .seconds(600))
        defer { threads.stop() }
        let idents = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<64 { group.addTask { try await threads.run(Self.ident) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(idents.count == 1, "\(idents)")
    }

    @Test("jobs that wait with the GIL released run at once on every thread")
    func releasingJobsOverlap() async throws {
        let interpreter = try await SharedInterpreter.get()
        let threads = try await interpreter.makeThreads(name: "test-spread", count: 4, takeover: .milliseconds(1))
        defer { threads.stop() }
        let barrier = try await interpreter.mainThread.run { gil in
            PythonHandle(
                try gil.importModule("threading").attribute("Barrier").call(try Self.int("4", gil)),
                droppedOn: interpreter.mainThread)
        }
        // Each job waits (GIL released) until all four wait at once: only four threads running
        // them together can end this; the barrier's own timeout turns a failure into an error.
        let idents = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await threads.run { gil in
                        _ = try barrier.object(gil).attribute("wait").call(try Self.int("120", gil))
                        return try Self.ident(gil)
                    }
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(idents.count == 4)
    }

    /// Runs on `threads` a piece of Swift that stays on the CPU (no GIL, no sleep) until
    /// `released` is set, and then a job queued behind it that sets it: only another thread
    /// taking the queue while the piece runs can end it. Returns whether the piece saw the job
    /// (the piece gives up after two minutes rather than hang the suite).
    private static func spinUntilReleased(on threads: PythonThreads) async throws -> Bool {
        let released = Released()
        let spinner = Task(executorPreference: threads) { () -> Bool in
            let deadline = ContinuousClock.now + .seconds(120)
            while !released.value.load(ordering: .relaxed) {
                if ContinuousClock.now > deadline { return false }
            }
            return true
        }
        try await threads.run { _ in released.value.store(true, ordering: .relaxed) }
        return await spinner.value
    }

    @Test("a piece that computes past the busy takeover time lets queued work run on another thread")
    func computingPieceIsTakenOver() async throws {
        let interpreter = try await SharedInterpreter.get()
        let threads = try await interpreter.makeThreads(
            name: "test-busy", count: 2, takeover: .milliseconds(1), busyTakeover: .milliseconds(5))
        defer { threads.stop() }
        #expect(try await Self.spinUntilReleased(on: threads))
    }

}

/// A flag set by one thread and read by another.
private final class Released: Sendable {
    let value = Atomic(false)
}

import Foundation
import Logging
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

/// The sorted names in `folder` (none when it is missing).
func names(_ folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

/// The task files and staged answers in the claim folder of `queue` (not its hidden spares).
func claimFiles(_ layout: SpoolLayout, _ queue: SpoolQueue) -> [String] {
    names(layout.claimed.appending(path: queue.workerID)).filter { !$0.hasPrefix(".") }
}

/// A valid request body.
let request = Array(#"{"args": {"x": 1}}"#.utf8)
/// The timings of a task that took no time.
let now = TaskTimings(queuedAt: nil, startedAt: Date(), finishedAt: Date())

/// Opens the spool at `layout` with fsync on, as a worker does: recovery runs first.
func openSpool(
    _ layout: SpoolLayout, maxStagedAnswers: Int = 64,
    logger: Logger = Logger(label: "test") { _ in
        SwiftLogNoOpLogHandler()
    }
) throws -> SpoolQueue {
    var configuration = SpoolQueue.Configuration()
    configuration.maxStagedAnswers = maxStagedAnswers
    return try SpoolQueue(layout: layout, configuration: configuration, logger: logger)
}

/// A whole response file of task `id`, as a worker stages it.
func stagedResponse(_ id: String, result: String = "42") -> Data {
    SpoolResponse(task: QueuedTask(id: id, body: []), response: .success(result: result), timings: now).jsonData()
}

@Suite("Recovering a dead worker's staged answers")
struct StagedAnswerRecoveryTests {
    private let owner = "\(WorkerLease.hostname)-999998-staged"

    /// A dead worker's claim folder holding task `id`'s claim, and its staged answer when given;
    /// its lock file exists and nobody holds it.
    private func leaveDeadWorker(_ layout: SpoolLayout, id: String, claim: Bool = true, staged: Data?) throws {
        try layout.create()
        let folder = layout.claimed.appending(path: owner)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if claim { try Data(request).write(to: layout.taskFile(id, in: folder)) }
        if let staged { try staged.write(to: folder.appending(path: "\(id).answer")) }
        try Data().write(to: layout.workers.appending(path: "\(owner).lock"))
    }

    @Test("a whole staged answer is published, the claim dropped, and no attempt charged")
    func promoted() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-whole"))
        let staged = stagedResponse("t1")
        try leaveDeadWorker(layout, id: "t1", staged: staged)
        try Data("1\n".utf8).write(to: layout.attempts.appending(path: "t1"))  // an earlier worker died on it
        _ = try openSpool(layout)
        #expect(try Data(contentsOf: layout.taskFile("t1", in: layout.responses)) == staged)
        #expect(try SpoolProducer(layout: layout).status(of: "t1").result == "42")
        #expect(names(layout.attempts).isEmpty)
        #expect(names(layout.incoming).isEmpty)
        #expect(!names(layout.claimed).contains(owner))
        #expect(!names(layout.workers).contains("\(owner).lock"))
    }

    @Test("a torn staged answer is discarded and the task goes back to incoming/ with its attempt counted")
    func torn() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-torn"))
        let whole = stagedResponse("t1")
        try leaveDeadWorker(layout, id: "t1", staged: whole.prefix(whole.count - 1))
        let queue = try openSpool(layout)
        #expect(names(layout.responses).isEmpty)
        #expect(names(layout.incoming) == ["t1.json"])
        #expect(try String(contentsOf: layout.attempts.appending(path: "t1"), encoding: .utf8) == "1\n")
        #expect(!names(layout.claimed).contains(owner))
        #expect(try await queue.next()?.attempt == 2)
    }

    @Test("a staged answer naming another task is discarded like a torn one")
    func otherTask() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-other"))
        try leaveDeadWorker(layout, id: "t1", staged: stagedResponse("t2"))
        _ = try openSpool(layout)
        #expect(names(layout.responses).isEmpty)
        #expect(names(layout.incoming) == ["t1.json"])
    }

    @Test("a staged answer without its claim is stale: removed, nothing published")
    func stale() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-stale"))
        try leaveDeadWorker(layout, id: "t1", claim: false, staged: stagedResponse("t1"))
        _ = try openSpool(layout)
        #expect(names(layout.responses).isEmpty)
        #expect(names(layout.incoming).isEmpty)
        #expect(!names(layout.claimed).contains(owner))
    }

    @Test("a staged answer never replaces a response already there")
    func alreadyAnswered() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-answered"))
        try leaveDeadWorker(layout, id: "t1", staged: stagedResponse("t1", result: "staged"))
        let published = stagedResponse("t1", result: "published")
        try published.write(to: layout.taskFile("t1", in: layout.responses))
        _ = try openSpool(layout)
        #expect(try Data(contentsOf: layout.taskFile("t1", in: layout.responses)) == published)
        #expect(!names(layout.claimed).contains(owner))
        #expect(names(layout.attempts).isEmpty)
    }

    @Test("a task whose answer is staged reads STARTED while its worker lives")
    func startedWhileStaged() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("staged-status"))
        try leaveDeadWorker(layout, id: "t1", staged: stagedResponse("t1"))
        #expect(try SpoolProducer(layout: layout).status(of: "t1").status == .started)
    }
}

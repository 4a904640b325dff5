import Foundation
import Logging
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

private let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

private func makeSpool(maxAttempts: Int = 3) throws -> (SpoolLayout, SpoolQueue) {
    let layout = SpoolLayout(root: try Checkout.temporaryFolder("spool"))
    var configuration = SpoolQueue.Configuration()
    configuration.maxAttempts = maxAttempts
    return (layout, try SpoolQueue(layout: layout, configuration: configuration, logger: quiet))
}

private func openQueue(_ layout: SpoolLayout, maxAttempts: Int = 3) throws -> SpoolQueue {
    var configuration = SpoolQueue.Configuration()
    configuration.maxAttempts = maxAttempts
    return try SpoolQueue(layout: layout, configuration: configuration, logger: quiet)
}

private func files(_ folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

private let body = Array(#"{"args": {"x": 1}}"#.utf8)
private let timings = TaskTimings(queuedAt: nil, startedAt: Date(), finishedAt: Date())

@Suite("The spool queue")
struct SpoolQueueTests {
    @Test("a submitted task is PENDING, then STARTED once claimed, then answered durably")
    func lifecycle() async throws {
        let (layout, queue) = try makeSpool()
        let producer = try SpoolProducer(layout: layout)
        try producer.submit(body, id: "t1")
        #expect(producer.status(of: "t1").status == .pending)
        #expect(files(layout.temporary).isEmpty)

        let task = try #require(try await queue.next())
        #expect(task.id == "t1")
        #expect(task.body == body)
        #expect(task.attempt == 1)
        #expect(producer.status(of: "t1").status == .started)
        #expect(try await queue.next() == nil)

        try await queue.finish(task, response: .success(result: "2"), timings: timings, disposition: .answered)
        await queue.commitStaged()  // answers are committed in groups, on the committer's thread
        let response = producer.status(of: "t1")
        #expect(response.status == .success)
        #expect(response.result == "2")
        #expect(response.attempt == 1)
        #expect(response.timings?.runMilliseconds == 0)
        #expect(claimFiles(layout, queue).isEmpty)
        #expect(files(layout.temporary).isEmpty)
    }

    @Test("tasks are claimed oldest first; hidden and misnamed files are never claimed")
    func order() async throws {
        let (layout, queue) = try makeSpool()
        for (index, id) in ["c", "a", "b"].enumerated() {
            let file = layout.taskFile(id, in: layout.incoming)
            try Data(body).write(to: file)
            let date = Date(timeIntervalSince1970: 1_000_000 + Double(index))
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: file.path)
        }
        try Data(body).write(to: layout.incoming.appending(path: ".partial.json"))
        try Data(body).write(to: layout.incoming.appending(path: "notes.txt"))
        var claimed: [String] = []
        while let task = try await queue.next() { claimed.append(task.id) }
        #expect(claimed == ["c", "a", "b"])
    }

    @Test("two workers on one spool never claim the same task")
    func twoWorkers() async throws {
        let (layout, first) = try makeSpool()
        let second = try openQueue(layout)
        let producer = try SpoolProducer(layout: layout)
        for index in 0..<200 { try producer.submit(body, id: "t\(index)") }
        async let fromFirst = drain(first)
        async let fromSecond = drain(second)
        let (a, b) = try await (fromFirst, fromSecond)
        #expect(Set(a).isDisjoint(with: b))
        #expect(a.count + b.count == 200)
    }

    private func drain(_ queue: SpoolQueue) async throws -> [String] {
        var ids: [String] = []
        while let task = try await queue.next() { ids.append(task.id) }
        return ids
    }

    @Test("a released task goes back to incoming without counting an attempt")
    func release() async throws {
        let (layout, queue) = try makeSpool()
        try SpoolProducer(layout: layout).submit(body, id: "t1")
        try await queue.release(try #require(try await queue.next()))
        #expect(files(layout.incoming) == ["t1.json"])
        #expect(try await queue.next()?.attempt == 1)
    }

    @Test("a rejected task moves to dead/ with its FAILURE response")
    func rejected() async throws {
        let (layout, queue) = try makeSpool()
        try SpoolProducer(layout: layout).submit(Array("{bad".utf8), id: "t1")
        let task = try #require(try await queue.next())
        try await queue.finish(
            task, response: .failure(traceback: "bad request"), timings: timings, disposition: .rejected)
        #expect(files(layout.dead) == ["t1.json"])
        #expect(try String(contentsOf: layout.taskFile("t1", in: layout.dead), encoding: .utf8) == "{bad")
        #expect(try SpoolProducer(layout: layout).status(of: "t1").traceback == "bad request")
    }

    @Test("a named pipe in incoming/ is claimed at once with an empty body (a corrupt task), not waited on")
    func namedPipe() async throws {
        let (layout, queue) = try makeSpool()
        let pipe = try UnwrittenPipe(at: layout.taskFile("p1", in: layout.incoming).path)
        let task = try #require(try await queue.next())
        #expect(!pipe.waitedForWriter())
        #expect(task.id == "p1")
        #expect(task.body.isEmpty)
    }

    @Test("a rejected task whose response cannot be written stays claimed, not in dead/, and goes back")
    func rejectedUnwritable() async throws {
        let (layout, queue) = try makeSpool()
        try SpoolProducer(layout: layout).submit(Array("{bad".utf8), id: "t1")
        let task = try #require(try await queue.next())
        // responses/ made a file: as a full disk, the response cannot be put there.
        try FileManager.default.removeItem(at: layout.responses)
        try Data().write(to: layout.responses)
        await #expect(throws: (any Error).self) {
            try await queue.finish(
                task, response: .failure(traceback: "bad request"), timings: timings, disposition: .rejected)
        }
        #expect(files(layout.dead).isEmpty)
        try await queue.release(task)
        #expect(files(layout.incoming) == ["t1.json"])
    }

    @Test("invalid and reused task ids are refused")
    func taskIDs() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("ids"))
        let producer = try SpoolProducer(layout: layout)
        for bad in ["", ".hidden", "a/b", "a b", String(repeating: "x", count: 201)] {
            #expect(throws: SpoolError.self) { try producer.submit(body, id: bad) }
        }
        try producer.submit(body, id: "ok-1.2_3")
        #expect(throws: SpoolError.self) { try producer.submit(body, id: "ok-1.2_3") }
    }
}

@Suite("Recovering dead workers' claims")
struct SpoolRecoveryTests {
    /// Leaves a claim as a worker that died would: its folder, its unlocked lock file.
    private func leaveDeadClaim(_ layout: SpoolLayout, id: String, owner: String) throws {
        let folder = layout.claimed.appending(path: owner)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(body).write(to: layout.taskFile(id, in: folder))
        try Data().write(to: layout.workers.appending(path: "\(owner).lock"))
    }

    private var deadOwner: String { "\(WorkerLease.hostname)-999999-dead" }

    @Test("a dead worker's claim returns to incoming with its attempt counted")
    func recovered() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("recover"))
        try layout.create()
        try leaveDeadClaim(layout, id: "t1", owner: deadOwner)
        let queue = try openQueue(layout)
        #expect(files(layout.incoming) == ["t1.json"])
        #expect(!files(layout.claimed).contains(deadOwner))
        #expect(!files(layout.workers).contains("\(deadOwner).lock"))
        #expect(try await queue.next()?.attempt == 2)
    }

    @Test("after max attempts the task goes to dead/ with a FAILURE response saying why")
    func deadLettered() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("dead-letter"))
        try layout.create()
        try leaveDeadClaim(layout, id: "t1", owner: deadOwner)
        _ = try openQueue(layout, maxAttempts: 1)
        #expect(files(layout.dead) == ["t1.json"])
        let response = try SpoolProducer(layout: layout).status(of: "t1")
        #expect(response.status == .failure)
        #expect(response.traceback?.contains("the worker died 1 times while running this task") == true)
    }

    @Test("a live worker's claims are left alone")
    func liveWorker() async throws {
        let (layout, owner) = try makeSpool()
        try SpoolProducer(layout: layout).submit(body, id: "t1")
        _ = try #require(try await owner.next())
        _ = try openQueue(layout)
        #expect(try SpoolProducer(layout: layout).status(of: "t1").status == .started)
        #expect(files(layout.incoming).isEmpty)
    }

    @Test("a claim answered before its worker died is dropped, not run again")
    func answeredBeforeDeath() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("answered"))
        try layout.create()
        try leaveDeadClaim(layout, id: "t1", owner: deadOwner)
        try Data(#"{"status":"SUCCESS","task_id":"t1"}"#.utf8).write(to: layout.taskFile("t1", in: layout.responses))
        _ = try openQueue(layout)
        #expect(files(layout.incoming).isEmpty)
        #expect(files(layout.attempts).isEmpty)
    }

    @Test("another host's worker is recovered only once its lease expired")
    func otherHost() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("other-host"))
        try layout.create()
        let owner = "elsewhere-1-abc"
        try leaveDeadClaim(layout, id: "t1", owner: owner)
        _ = try openQueue(layout)
        #expect(files(layout.incoming).isEmpty, "a fresh lease on another host must be respected")
        let old = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes(
            [.modificationDate: old], ofItemAtPath: layout.workers.appending(path: "\(owner).lock").path)
        _ = try openQueue(layout)
        #expect(files(layout.incoming) == ["t1.json"])
    }

    @Test("a task in dead/ without a response gets one")
    func unansweredDeadLetter() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("unanswered"))
        try layout.create()
        try Data(body).write(to: layout.taskFile("t1", in: layout.dead))
        _ = try openQueue(layout)
        #expect(try SpoolProducer(layout: layout).status(of: "t1").status == .failure)
    }
}

import Foundation
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

@Suite("Tasks that were running together when their worker died")
struct SuspectTaskTests {
    private let owner = "\(WorkerLease.hostname)-999997-crashed"

    /// A dead worker's claim folder holding the claims `ids`, queued in that order.
    private func leaveDeadWorker(_ layout: SpoolLayout, running ids: [String]) throws {
        try layout.create()
        let folder = layout.claimed.appending(path: owner)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, id) in ids.enumerated() {
            let claim = layout.taskFile(id, in: folder)
            try Data(request).write(to: claim)
            let queued = Date(timeIntervalSince1970: 1_000_000 + Double(index))
            try FileManager.default.setAttributes([.modificationDate: queued], ofItemAtPath: claim.path)
        }
        try Data().write(to: layout.workers.appending(path: "\(owner).lock"))
    }

    /// Dates the files of `ids` in `incoming/` in that order, as if queued a second apart.
    private func queued(_ layout: SpoolLayout, _ ids: [String]) throws {
        for (index, id) in ids.enumerated() {
            let date = Date(timeIntervalSince1970: 2_000_000 + Double(index))
            try FileManager.default.setAttributes(
                [.modificationDate: date], ofItemAtPath: layout.taskFile(id, in: layout.incoming).path)
        }
    }

    private func attempts(_ layout: SpoolLayout, _ id: String) throws -> String {
        try String(contentsOf: layout.attempts.appending(path: id), encoding: .utf8)
    }

    @Test("none is charged an attempt: each goes back to incoming/ as a suspect")
    func noneCharged() throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("suspects"))
        try leaveDeadWorker(layout, running: ["a", "b"])
        _ = try openSpool(layout)
        #expect(names(layout.incoming) == ["a.json", "b.json"])
        #expect(try attempts(layout, "a") == "0\n")
        #expect(try attempts(layout, "b") == "0\n")
        #expect(names(layout.dead).isEmpty)
    }

    @Test("a task running alone when its worker died is charged, and runs alone from then on")
    func aloneCharged() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("alone"))
        try leaveDeadWorker(layout, running: ["a"])
        let queue = try openSpool(layout)
        #expect(try attempts(layout, "a") == "1\n")
        try SpoolProducer(layout: layout).submit(request, id: "later")
        #expect(try await queue.next()?.id == "a")
        #expect(try await queue.next() == nil)
    }

    @Test("suspects run one at a time with nothing beside them; later tasks wait behind them")
    func suspectsRunAlone() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("alone-order"))
        try leaveDeadWorker(layout, running: ["a", "b"])
        let queue = try openSpool(layout)
        try SpoolProducer(layout: layout).submit(request, id: "later")

        let first = try #require(try await queue.next())
        #expect(first.id == "a")
        #expect(first.attempt == 1)
        #expect(try await queue.next(upTo: 2).isEmpty)
        #expect(await !queue.isEmpty())
        try await queue.finish(first, response: .success(result: "1"), timings: now, disposition: .answered)

        let second = try #require(try await queue.next())
        #expect(second.id == "b")
        #expect(try await queue.next() == nil)
        try await queue.release(second)  // given back (a drain): still a suspect
        #expect(names(layout.incoming) == ["b.json", "later.json"])
        #expect(try attempts(layout, "b") == "0\n")
    }

    @Test("a suspect waits until the tasks running here are done, and holds back those after it")
    func suspectWaitsForTheRunning() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("suspect-waits"))
        let queue = try openSpool(layout)
        let producer = try SpoolProducer(layout: layout)
        try producer.submit(request, id: "running")
        let running = try #require(try await queue.next())
        // A worker died running "suspect" beside another task; it was queued before "after".
        try Data("0\n".utf8).write(to: layout.attempts.appending(path: "suspect"))
        try producer.submit(request, id: "suspect")
        try producer.submit(request, id: "after")
        try queued(layout, ["suspect", "after"])
        #expect(try await queue.next() == nil)

        try await queue.finish(running, response: .success(result: "1"), timings: now, disposition: .answered)
        let suspect = try #require(try await queue.next())
        #expect(suspect.id == "suspect")
        #expect(try await queue.next() == nil)
        try await queue.finish(suspect, response: .success(result: "1"), timings: now, disposition: .answered)
        #expect(try await queue.next()?.id == "after")
        await queue.commitStaged()
        #expect(names(layout.attempts).isEmpty)
    }
}

@Suite("The claim gate")
struct ClaimGateTests {
    @Test("a suspect only while nothing runs; nothing beside a suspect; a left task frees its place")
    func gate() {
        let gate = ClaimGate()
        #expect(gate.reserve("a", suspect: false))
        #expect(gate.reserve("b", suspect: false))
        #expect(!gate.reserve("s", suspect: true))
        gate.left("a")
        #expect(!gate.reserve("s", suspect: true))
        gate.left("b")
        #expect(gate.reserve("s", suspect: true))
        #expect(!gate.reserve("c", suspect: false))
        #expect(!gate.reserve("t", suspect: true))
        gate.left("s")
        #expect(gate.reserve("c", suspect: false))
    }
}

import Foundation
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

#if canImport(Glibc)
    import Glibc
#endif

/// Whether another open file description can lock `file`: false while a worker holds it.
private func lockable(_ file: URL) -> Bool {
    let descriptor = open(file.path, O_RDWR | O_CLOEXEC)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return flock(descriptor, LOCK_EX | LOCK_NB) == 0
}

@Suite("A spool folder deleted while a worker serves it")
struct DeletedSpoolFolderTests {
    @Test("claims fail as unavailable while it is gone; once made again the worker registers anew and serves it")
    func deletedThenMadeAgain() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("deleted"))
        let queue = try openSpool(layout)
        let lock = layout.workers.appending(path: "\(queue.workerID).lock")
        #expect(!lockable(lock))

        try FileManager.default.removeItem(at: layout.root)
        await #expect(throws: QueueUnavailableError.self) { try await queue.next() }
        await #expect(throws: QueueUnavailableError.self) { try await queue.next() }

        // A producer makes it again and queues a task.
        try SpoolProducer(layout: layout).submit(request, id: "t1")
        let task = try #require(try await queue.next())
        #expect(task.id == "t1")
        #expect(names(layout.claimed.appending(path: queue.workerID)) == ["t1.json"])
        #expect(!lockable(lock))
        try await queue.finish(task, response: .success(result: "2"), timings: now, disposition: .answered)
        await queue.commitStaged()
        #expect(try SpoolProducer(layout: layout).status(of: "t1").result == "2")
    }

    @Test("a folder replaced between two looks is served at once, registered anew")
    func replacedBetweenLooks() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("replaced"))
        let queue = try openSpool(layout)
        try FileManager.default.removeItem(at: layout.root)
        try SpoolProducer(layout: layout).submit(request, id: "t1")
        #expect(try await queue.next()?.id == "t1")
        #expect(!lockable(layout.workers.appending(path: "\(queue.workerID).lock")))
    }

    @Test("this worker's claim folder deleted alone is made again, not taken for lost races")
    func claimFolderDeleted() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("claims-deleted"))
        let queue = try openSpool(layout)
        try FileManager.default.removeItem(at: layout.claimed)
        try SpoolProducer(layout: layout).submit(request, id: "t1")
        #expect(try await queue.next()?.id == "t1")
    }
}

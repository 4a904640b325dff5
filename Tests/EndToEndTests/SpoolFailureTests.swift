import Foundation
import SpoolQueue
import TestSupport
import Testing
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// `/readyz`'s status over the worker's Unix socket.
private func readyz(_ socket: String) async throws -> Int {
    try await RawHTTP.send(.unix(path: socket), "GET", "/readyz").status
}

private func exists(_ file: URL) -> Bool { FileManager.default.fileExists(atPath: file.path) }

/// Deletes the spool folder under a serving worker: moved away at once (a recursive removal
/// races the worker's own writes), then removed.
private func deleteFolder(of spool: TestSpool) throws {
    let away = try Checkout.temporaryFolder("deleted-spool").appending(path: "spool")
    try FileManager.default.moveItem(at: spool.layout.root, to: away)
    try? FileManager.default.removeItem(at: away)
}

@Suite("launch-worker serve when a spool goes wrong")
struct SpoolFailureTests {
    private static let body = Data(#"{"args": {"x": 1, "y": 2}}"#.utf8)

    @Test("files in incoming/ that are not tasks get a FAILURE response and go to dead/, each logged")
    func misnamedFiles() async throws {
        let spool = try TestSpool("misnamed")
        let misnamed = ["a b.json", "$(id).json", "tâche.json", String(repeating: "x", count: 240) + ".json", "task1"]
        for name in misnamed { try Self.body.write(to: spool.layout.incoming.appending(path: name)) }
        try spool.submit(#"{"args": {"x": 1, "y": 2}}"#, id: "good")
        let worker = try await spool.serve("function", ["--exit-when-empty"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(spool.names(spool.layout.incoming).isEmpty)
        #expect(spool.response("good").result == #"{"sum": 3}"#)
        let dead = spool.names(spool.layout.dead)
        #expect(dead.count == misnamed.count)
        for file in dead {
            let response = spool.response(String(file.dropLast(".json".count)))
            #expect(response.status == .failure)
            #expect(response.traceback?.contains("is not a task") == true, "\(file)")
        }
        let logged = worker.stderr().components(separatedBy: "a file in incoming/ is not a task").count - 1
        #expect(logged == misnamed.count)

        let status = try await launchWorker(["status", "--queue", spool.address, "a b"])
        #expect(status.status == 2)
        #expect(status.stderr.contains("is not a task id"))
    }

    @Test("--exit-when-empty waits while a producer writes a hidden file in incoming/, then serves its task")
    func hiddenFileInProgress() async throws {
        let spool = try TestSpool("hidden")
        try spool.submit(#"{"args": {"x": 1, "y": 2}}"#, id: "first")
        let partial = spool.layout.incoming.appending(path: ".late.json.partial")
        try Self.body.write(to: partial)
        // A hidden file unchanged for --lease counts as abandoned: a lease far longer than this
        // test keeps the producer's file its own however slowly a loaded machine starts the worker.
        let worker = try await spool.serve("function", ["--exit-when-empty", "--lease", "600"])
        try await eventually("the first task was answered") { spool.response("first").status == .success }
        try FileManager.default.moveItem(at: partial, to: spool.layout.taskFile("late", in: spool.layout.incoming))
        #expect(try await worker.exitStatus(within: .seconds(120)) == 0, "\(worker.stderr())")
        #expect(spool.response("late").result == #"{"sum": 3}"#)
    }

    @Test(
        "the spool folder deleted while serving: not ready (ready file, /readyz) until a producer makes it again, then served"
    )
    func deletedFolder() async throws {
        let spool = try TestSpool("deleted")
        let outside = try Checkout.temporaryFolder("deleted-spool-worker")
        let readyFile = outside.appending(path: "ready")
        let socket = outside.appending(path: "w.sock").path
        let worker = try await spool.serve(
            "function", ["--ready-file", readyFile.path, "--listen", "unix:\(socket)", "--drain-timeout", "1"])
        try await eventually("the worker is ready") { exists(readyFile) }
        #expect(try await readyz(socket) == 200)

        try deleteFolder(of: spool)
        try await eventually("the worker is not ready") { !exists(readyFile) }
        #expect(try await readyz(socket) == 503)
        #expect(worker.stderr().contains("the queue cannot be used"))
        #expect(worker.stderr().contains("the spool folder is gone"))

        try SpoolProducer(layout: spool.layout).submit(Array(Self.body), id: "t1")
        try await eventually("the task in the new folder was answered") { spool.response("t1").status == .success }
        try await eventually("the worker is ready again") { exists(readyFile) }
        #expect(try await readyz(socket) == 200)

        worker.send(SIGTERM)
        #expect(try await worker.exitStatus(within: .seconds(60)) == 0, "\(worker.stderr())")
    }

    @Test("SIGTERM ends a worker whose spool folder was made again while it could not claim there")
    func signalAfterRecreation() async throws {
        let spool = try TestSpool("deleted-signal")
        let readyFile = try Checkout.temporaryFolder("deleted-signal-worker").appending(path: "ready")
        let worker = try await spool.serve("function", ["--ready-file", readyFile.path, "--drain-timeout", "1"])
        try await eventually("the worker is ready") { exists(readyFile) }
        try deleteFolder(of: spool)
        // A producer that makes only its own folders, as the Python client does.
        for folder in [spool.layout.incoming, spool.layout.responses, spool.layout.dead, spool.layout.temporary] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try Self.body.write(to: spool.layout.taskFile("t1", in: spool.layout.incoming))
        try await eventually("the task in the new folder was answered") { spool.response("t1").status == .success }
        worker.send(SIGTERM)
        #expect(try await worker.exitStatus(within: .seconds(60)) == 0, "\(worker.stderr())")
    }

    @Test("a task that crashes the worker beside innocent ones, --per-worker 2: only it reaches dead/")
    func crashBesideInnocents() async throws {
        let spool = try TestSpool("crash-beside")
        let ids = ["crash", "ok0", "ok1", "ok2", "ok3"]
        for (index, id) in ids.enumerated() {
            try spool.submit(#"{"args": {"x": "\#(id)", "spool": "\#(spool.layout.root.path)"}}"#, id: id)
            // Queued a second apart: the worker takes "crash" and "ok0" first, together.
            let date = Date(timeIntervalSince1970: 1_000_000 + Double(index))
            try FileManager.default.setAttributes(
                [.modificationDate: date], ofItemAtPath: spool.layout.taskFile(id, in: spool.layout.incoming).path)
        }
        var statuses: [Int32] = []
        // An orchestrator restarting the worker each time it dies.
        for _ in 0..<6 {
            let worker = try await spool.serve(
                "crash-beside", ["--per-worker", "2", "--max-attempts", "2", "--exit-when-empty"])
            let status = await worker.exitStatus()
            statuses.append(status)
            if status == 0 { break }
        }
        // Beside an innocent task (neither charged), then twice alone (charged, then dead/).
        #expect(statuses == [17, 17, 17, 0])
        #expect(spool.names(spool.layout.dead) == ["crash.json"])
        #expect(spool.response("crash").traceback?.contains("died 2 times") == true)
        for id in ids.dropFirst() {
            let response = spool.response(id)
            #expect(response.result == #"{"x": "\#(id)"}"#, "\(id)")
            #expect(response.attempt == 1, "\(id)")
        }
        #expect(spool.names(spool.layout.attempts).isEmpty)
        #expect(spool.claimedTasks.isEmpty)
    }
}
